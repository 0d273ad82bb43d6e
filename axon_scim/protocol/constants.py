"""Wire strings of SCIM 2.0: schema URNs, the media type, error types, PATCH ops."""

MEDIA_TYPE = "application/scim+json"

# RFC 7643 section 8.7 / RFC 7644 section 3
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
# RFC 7644 section 3.7.2: a value naming the resource another operation of the request creates.
BULK_ID_PREFIX = "bulkId:"

# RFC 7644 section 3.12, table 9
SCIM_TYPE_INVALID_FILTER = "invalidFilter"
SCIM_TYPE_TOO_MANY = "tooMany"
SCIM_TYPE_UNIQUENESS = "uniqueness"
SCIM_TYPE_MUTABILITY = "mutability"
SCIM_TYPE_INVALID_SYNTAX = "invalidSyntax"
SCIM_TYPE_INVALID_PATH = "invalidPath"
SCIM_TYPE_NO_TARGET = "noTarget"
SCIM_TYPE_INVALID_VALUE = "invalidValue"
SCIM_TYPE_INVALID_VERS = "invalidVers"
SCIM_TYPE_SENSITIVE = "sensitive"

# RFC 9865 section 2.1
SCIM_TYPE_INVALID_CURSOR = "invalidCursor"
SCIM_TYPE_EXPIRED_CURSOR = "expiredCursor"

# RFC 9865 section 4: ServiceProviderConfig ``pagination.defaultPaginationMethod``
PAGINATION_CURSOR = "cursor"
PAGINATION_INDEX = "index"

# RFC 7644 section 3.5.2
PATCH_ADD = "add"
PATCH_REMOVE = "remove"
PATCH_REPLACE = "replace"
PATCH_OPS = (PATCH_ADD, PATCH_REMOVE, PATCH_REPLACE)

SORT_ASCENDING = "ascending"
SORT_DESCENDING = "descending"
