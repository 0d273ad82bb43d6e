"""The SCIM protocol, free of Django models and tenants.

Everything here works on plain data (dicts, strings, dataclasses): filter and
path parsing, PATCH, Bulk, projection, ETags, paging, errors, the schema
documents, and which characters text may hold (``text``). The portal side
hands it an attribute map and gets data back.
"""
