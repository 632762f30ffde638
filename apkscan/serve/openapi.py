"""The OpenAPI 3.1 description the service serves at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

_SHA = {"name": "sha", "in": "path", "required": True, "description": "The scan id: the upload's SHA-256.",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
_WAIT = {"name": "wait", "in": "query", "description": "Seconds to wait for the scan to end (at most --max-wait).",
         "schema": {"type": "number", "minimum": 0}}


def _q(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": text, "schema": {"type": "string"}}


def _err(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_ERRORS = {"401": _err("no token, or an invalid or revoked one"), "403": _err("the token's role does not allow this")}


def openapi(version: str) -> dict[str, Any]:
    status = {"description": "the scan's status", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Scan"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "apkscan service",
            "version": version,
            "description": "Upload Android APKs, wait for a verdict (pass, fix, review, reject) and fetch reports. "
                           "Every request needs `Authorization: Bearer TOKEN` (tokens: `apkscan token create`).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/scans": {
                "post": {
                    "summary": "Submit an APK (raw body or multipart field `file`); answers at once with the scan id",
                    "description": "Role submit. The same file uploaded again is answered from the store "
                                   "(`duplicate: true`). Limits: body size (413), queue length (503), uploads per "
                                   "token per minute (429); each answer says which.",
                    "parameters": [_WAIT, _q("filename", "the client's file name (shown only; .apks/.xapk mark "
                                                         "a bundle)"),
                                   _q("retry", "1: scan again a file whose scan failed (role admin)")],
                    "requestBody": {"required": True, "content": {
                        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                        "multipart/form-data": {"schema": {"type": "object", "properties": {
                            "file": {"type": "string", "format": "binary"}}}},
                    }},
                    "responses": {"202": status, "200": status, "400": _err("empty or unreadable upload"),
                                  "413": _err("larger than --max-upload-mb"), "429": _err("rate limit"),
                                  "503": _err("queue full or scanner down"), **_ERRORS},
                },
                "get": {
                    "summary": "List and search scans (newest first)",
                    "description": "Role read. `*` is a wildcard in package, finding and sdk.",
                    "parameters": [_q("package", "package name (substring)"), _q("sha256", "SHA-256 prefix"),
                                   _q("verdict", "pass, fix, review, reject or failed"),
                                   _q("finding", "rule id, e.g. FRAUD-* "), _q("sdk", "SDK id or name"),
                                   _q("since", "ISO date"), _q("until", "ISO date"),
                                   {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
                                   {"name": "offset", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "matching scans"}, **_ERRORS},
                },
            },
            "/api/v1/scans/{sha}": {"get": {
                "summary": "Status, verdict and per-phase time of one scan", "parameters": [_SHA, _WAIT],
                "responses": {"200": status, "404": _err("no such scan"), **_ERRORS}}},
            "/api/v1/scans/{sha}/report.{fmt}": {"get": {
                "summary": "The JSON, HTML or SARIF report",
                "parameters": [_SHA, {"name": "fmt", "in": "path", "required": True,
                                      "schema": {"enum": ["json", "html", "sarif"]}}],
                "responses": {"200": {"description": "the report"}, "404": _err("not done"), **_ERRORS}}},
            "/api/v1/scans/{sha}/reevaluate": {"post": {
                "summary": "Re-evaluate the stored facts of one scan under the service's rules (role admin); "
                           "facts from an older reader: the kept upload is scanned again",
                "parameters": [_SHA], "responses": {
                    "202": {"description": "queued"},
                    "409": _err("facts from an older reader and the upload is no longer kept: upload again"),
                    **_ERRORS}}},
            "/api/v1/reevaluate": {"post": {
                "summary": "Re-evaluate every stored scan without a result under the service's rules (role admin); "
                           "`skipped` lists those whose facts come from an older reader and whose upload is gone",
                "responses": {"202": {"description": "queued"}, **_ERRORS}}},
            "/api/v1/diff": {"get": {
                "summary": "What changed between two scans (permissions, SDKs, personal data, findings, signer)",
                "parameters": [_q("old", "scan id"), _q("new", "scan id")],
                "responses": {"200": {"description": "the diff"}, **_ERRORS}}},
            "/api/v1/jobs": {"get": {
                "summary": "The queue: recent jobs with status and time",
                "parameters": [_q("status", "queued, running, done or failed")],
                "responses": {"200": {"description": "jobs"}, **_ERRORS}}},
            "/api/v1/health": {"get": {"summary": "Whether the workers run; the rules digest",
                                       "responses": {"200": {"description": "ok"}, **_ERRORS}}},
            "/api/v1/openapi.json": {"get": {"summary": "This description",
                                             "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}},
                "Scan": {"type": "object", "required": ["id", "sha256", "status"], "properties": {
                    "id": {"type": "string"}, "sha256": {"type": "string"},
                    "status": {"enum": ["queued", "running", "done", "failed", "stale"]},
                    "queue_position": {"type": ["integer", "null"]},
                    "verdict": {"enum": ["pass", "fix", "review", "reject"]},
                    "verdict_reason": {"type": "object", "properties": {"en": {"type": "string"},
                                                                        "zh": {"type": "string"}}},
                    "package": {"type": ["string", "null"]}, "version_name": {"type": ["string", "null"]},
                    "counts": {"type": "object"}, "reports": {"type": "object"},
                    "error_kind": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]},
                    "duplicate": {"type": "boolean"},
                    "timings": {"type": "object", "description": "receive_s, queue_s, scan_s, write_s, total_s and "
                                                                 "the scan's own phases"},
                }},
            },
        },
    }
