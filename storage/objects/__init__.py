"""Object stores: where the bytes of documents live (a local folder, MinIO or any S3-compatible
store). Infrastructure only: what the objects mean, and who may read them, is the documents
package's business. See docs/documents.md."""

from storage.objects.errors import InvalidObjectKey, ObjectNotFound, StorageUnavailable
from storage.objects.names import content_disposition, sanitize_filename
from storage.objects.store import (
    DocumentStore,
    ObjectData,
    ObjectInfo,
    StoreHealth,
    build_document_store,
    build_document_store_from_settings,
    new_storage_key,
    thumbnail_key,
    validate_key,
)

__all__ = [
    "DocumentStore",
    "InvalidObjectKey",
    "ObjectData",
    "ObjectInfo",
    "ObjectNotFound",
    "StorageUnavailable",
    "StoreHealth",
    "build_document_store",
    "build_document_store_from_settings",
    "content_disposition",
    "new_storage_key",
    "sanitize_filename",
    "thumbnail_key",
    "validate_key",
]
