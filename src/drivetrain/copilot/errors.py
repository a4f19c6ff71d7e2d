"""Why a document could not be indexed: ``InputError`` subclasses of the copilot.

    InputError (drivetrain.errors)
    └── UnreadableDocument     a document the copilot cannot index
        ├── UnsupportedFormat  the file extension has no reader
        ├── DocumentTooLarge   the file is over the index's size limit
        ├── EmptyDocument      the file holds no text to index
        ├── EncryptedDocument  a password-protected PDF
        └── CorruptDocument    the file is damaged or not what its extension says

``DocumentIndex.add`` catches these per file and reports them in the
``IngestReport`` (source, code, message, hint); the rest of the batch goes on.
"""

from __future__ import annotations

from drivetrain.errors import InputError


class UnreadableDocument(InputError):
    """A document the copilot cannot index; the message names the file and why."""

    code = "unreadable-document"


class UnsupportedFormat(UnreadableDocument):
    """No reader for the file's extension."""

    code = "unsupported-format"


class DocumentTooLarge(UnreadableDocument):
    """The file is larger than the index accepts."""

    code = "document-too-large"


class EmptyDocument(UnreadableDocument):
    """The file holds no text (or no rows) to index."""

    code = "empty-document"


class EncryptedDocument(UnreadableDocument):
    """The PDF is protected by a user password."""

    code = "encrypted-document"


class CorruptDocument(UnreadableDocument):
    """The file is damaged or is not in the format its extension says."""

    code = "corrupt-document"
