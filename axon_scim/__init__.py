"""axon_scim: a SCIM 2.0 service provider (RFC 7643, RFC 7644) for multi-tenant Django portals."""

__version__ = "0.1.0"
