from tests.unit.pki.support import test_pki, test_pki_server  # noqa: F401 - fixtures
