"""The Envoy front door: `spec` describes it, `envoy_config` renders it, `launcher` runs it.

This package and the files under envoy/ and deploy/ are the only places that know Envoy.
"""

from nexon.gateway.launcher import GatewayError

__all__ = ["GatewayError"]
