"""The document store: open documents and workspace folders, keyed by one canonical form of their URI.

Editors spell the same file differently: VS Code percent-encodes (``file:///c%3A/Users/me/my%20project/a.py``),
other clients do not, or write the drive letter in upper case. pygls stores a document under its URI
with ``%`` escapes decoded and looks it up the same way, but the sidecar looked documents up by the
URI as a request spelt it, so VS Code's documents were never found: neither their text nor the
selection reached routing or the prompt. Here every URI is made canonical once, as pygls' own
``pygls.uris`` parses and writes URIs (each part decoded, then encoded once), with a Windows drive
letter in lower case, and the store, its lookups, the workspace folders and the workspace a request
names all use that form.
"""

from __future__ import annotations

import functools
from typing import Any

from lsprotocol import types
from pygls import uris
from pygls.workspace import TextDocument, Workspace

__all__ = ["KiloWorkspace", "canonical_uri"]


@functools.lru_cache(maxsize=4096)
def canonical_uri(uri: str) -> str:
    """``uri`` decoded and encoded once by ``pygls.uris``, with a Windows drive letter in lower case;
    a string that does not parse as a URI is returned as it is."""
    if not uri:
        return uri
    try:
        scheme, netloc, path, params, query, fragment = uris.urlparse(uri)
        if uris.RE_DRIVE_LETTER_PATH.match(path):
            path = path[0] + path[1].lower() + path[2:]
        return uris.urlunparse((scheme, netloc, path, params, query, fragment))
    except (ValueError, TypeError):
        return uri


class KiloWorkspace(Workspace):
    """pygls' Workspace with every document and folder stored and found under ``canonical_uri``.

    ``text`` answers only for documents the editor opened: pygls' ``get_text_document`` reads a file
    that is not open from disk, and a URI in a request must never make the sidecar read a file."""

    @classmethod
    def replacing(cls, old: Workspace) -> "KiloWorkspace":
        return cls(old.root_uri, old._sync_kind, list(old.folders.values()), old.position_encoding)

    def text(self, uri: str) -> str | None:
        doc = self._text_documents.get(canonical_uri(uri))
        return doc.source if doc is not None else None

    def document(self, uri: str) -> TextDocument | None:
        return self._text_documents.get(canonical_uri(uri))

    # -- pygls' own methods, keyed canonically ------------------------------------------------
    def add_folder(self, folder: types.WorkspaceFolder) -> None:
        self._folders[canonical_uri(folder.uri)] = folder

    def remove_folder(self, folder_uri: str) -> None:
        self._folders.pop(canonical_uri(folder_uri), None)

    def get_text_document(self, doc_uri: str) -> TextDocument:
        return self._text_documents.get(canonical_uri(doc_uri)) or self._create_text_document(doc_uri)

    def put_text_document(self, text_document: types.TextDocumentItem, notebook_uri: Any = None) -> None:
        key = canonical_uri(text_document.uri)
        self._text_documents[key] = self._create_text_document(
            text_document.uri, source=text_document.text, version=text_document.version,
            language_id=text_document.language_id)
        if notebook_uri:
            self._cell_in_notebook[key] = canonical_uri(notebook_uri)

    def remove_text_document(self, doc_uri: str) -> None:
        key = canonical_uri(doc_uri)
        self._text_documents.pop(key, None)
        self._cell_in_notebook.pop(key, None)

    def update_text_document(self, text_doc: types.VersionedTextDocumentIdentifier,
                             change: types.TextDocumentContentChangeEvent) -> None:
        doc = self._text_documents[canonical_uri(text_doc.uri)]
        doc.apply_change(change)
        doc.version = text_doc.version

    def folder_of(self, uri: str) -> str | None:
        """The canonical URI of the innermost folder holding ``uri``, else the root's (or None)."""
        target = canonical_uri(uri)
        best = None
        for key in self._folders:
            base = key.rstrip("/") + "/"
            if target.startswith(base) and (best is None or len(key) > len(best)):
                best = key
        return best or (canonical_uri(self.root_uri) if self.root_uri else None)
