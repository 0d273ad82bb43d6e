"""The SCIM protocol, free of Django models and tenants.

Everything here works on plain data (dicts, strings, dataclasses): filter and
path parsing, PATCH, Bulk, projection, ETags, paging, errors and the schema
documents. The portal side hands it an attribute map and gets data back.
"""
