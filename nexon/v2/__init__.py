"""The Open Inference Protocol (KServe V2), transport-neutral: messages, tensor codecs, data plane.

rest/v2_api.py and grpc/v2_service.py translate their wire formats to these messages and
call the one DataPlane, which calls the Orchestrator.
"""
