"""Certificates: W3C VC 2.0 as compact JWS (DESIGN 5), status lists, revocation, bundles and PDFs."""
