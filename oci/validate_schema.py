#!/usr/bin/env python3
"""Validates JSON documents against the OCI image-spec schemas (draft-04).

usage: validate_schema.py SCHEMA_DIR KIND=FILE...
KIND is manifest, index, config, descriptor or layout. Prints one line per document and exits 1
if any is invalid, 2 if the validator cannot run (python3-jsonschema missing)."""
import json
import os
import re
import sys
from urllib.parse import urlparse

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is missing (apt-get install python3-jsonschema)", file=sys.stderr)
    sys.exit(2)

KINDS = {
    "manifest": "image-manifest-schema.json",
    "index": "image-index-schema.json",
    "config": "config-schema.json",
    "descriptor": "content-descriptor.json",
    "layout": "image-layout-schema.json",
}
# Schema ids that are not file names.
ID_FILES = {
    "image/manifest": "image-manifest-schema.json",
    "image/index": "image-index-schema.json",
    "image/config": "config-schema.json",
    "image/layout": "image-layout-schema.json",
    "descriptor": "content-descriptor.json",
}
# jsonschema only checks date-time when optional packages are installed; the schemas use it for
# "created", so check RFC 3339 here rather than silently skipping it.
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def main():
    schema_dir = sys.argv[1]
    cache = {}

    def load(name):
        if name not in cache:
            with open(os.path.join(schema_dir, name)) as f:
                cache[name] = json.load(f)
        return cache[name]

    def fetch(uri):
        path = urlparse(uri).path
        base = os.path.basename(path)
        if base.endswith(".json"):
            return load(base)
        rel = path.split("/schema/", 1)[-1]
        if rel in ID_FILES:
            return load(ID_FILES[rel])
        raise LookupError("no schema file for " + uri)

    checker = jsonschema.FormatChecker()

    @checker.checks("date-time")
    def is_date_time(value):
        return not isinstance(value, str) or bool(RFC3339.match(value))

    bad = 0
    for arg in sys.argv[2:]:
        kind, _, path = arg.partition("=")
        schema = load(KINDS[kind])
        resolver = jsonschema.RefResolver.from_schema(
            schema, handlers={"https": fetch, "http": fetch})
        validator = jsonschema.Draft4Validator(schema, resolver=resolver, format_checker=checker)
        with open(path) as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            bad += 1
            for e in errors:
                where = "/".join(str(p) for p in e.absolute_path) or "(root)"
                print("INVALID %s %s: %s: %s" % (kind, path, where, e.message))
        else:
            print("OK %s %s" % (kind, path))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
