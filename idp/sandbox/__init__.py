"""The national sandbox: simulators of VNeID (a Keycloak realm) and the National Public Service
Portal's SSO (WSO2-shaped), with synthetic citizens, for tests and the demo. Loopback only.

``NationalSandbox.start()`` serves both on one loopback port; ``idp sandbox serve`` does the same
from the command line. Every simulator can be switched to a hostile mode (see ``modes.py``).
"""

from idp.sandbox.citizens import CITIZENS, ORGANISATIONS, Citizen, Organisation
from idp.sandbox.modes import MODES
from idp.sandbox.provider import SandboxClient, SandboxProvider
from idp.sandbox.server import LoopbackServer, NationalSandbox

__all__ = [
    "CITIZENS",
    "MODES",
    "ORGANISATIONS",
    "Citizen",
    "LoopbackServer",
    "NationalSandbox",
    "Organisation",
    "SandboxClient",
    "SandboxProvider",
]
