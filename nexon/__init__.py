"""NEXON: ONNX model serving over REST and gRPC."""
