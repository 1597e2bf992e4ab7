#!/usr/bin/env python3
"""Upstream PetStore's keyword fallback (compat/petstore.md, "The parser"), run over Petty's
labelled set of queries, printing the share it parses exactly: the baseline for
`crates/petty-core/src/catalog/labelled.txt`, which Petty's parser must get ≥ 95% right.

    python3 xtask/bench/petstore_fallback.py [LABELLED_FILE]

Upstream took the first of dog, cat, bird, fish found as a substring ("catfish" meant cat),
sorted on expensive/costly/costlier (price_desc) or cheap/affordable (price_asc), and ignored
every number; its limit was 10 and it looked only at available pets.
"""
import os
import sys

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "petty-core", "src", "catalog", "labelled.txt")


def fallback(query):
    q = query.lower()
    filters = {"limit": "10", "status": "available"}
    for species in ("dog", "cat", "bird", "fish"):
        if species in q:
            filters["species"] = species
            break
    if any(w in q for w in ("expensive", "costly", "costlier")):
        filters["sort"] = "price_desc"
    elif any(w in q for w in ("cheap", "affordable")):
        filters["sort"] = "price_asc"
    return filters


def expected(spec):
    filters = {"limit": "10", "status": "available"}
    for pair in spec.split(";"):
        pair = pair.strip()
        if not pair or pair == "-":
            continue
        key, value = pair.split("=", 1)
        filters[key.strip()] = ",".join(v.strip() for v in value.split(",")) if "," in value else value.strip()
    return filters


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    total = exact = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            query, spec = line.split(" => ", 1)
            total += 1
            if fallback(query) == expected(spec):
                exact += 1
    print(f"upstream fallback: {exact} of {total} exact ({100.0 * exact / max(total, 1):.1f}%)")


if __name__ == "__main__":
    main()
