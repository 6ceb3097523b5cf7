"""Sign-in with a certificate: a CMS signature over a single-use challenge, made with the person's
USB token through their local signing tool (adapters/certificate/adapter.py)."""
