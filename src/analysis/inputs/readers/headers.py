"""Header names: XML-style names from Kobo/ODK, and group prefixes resolved to form names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from analysis.errors import InputError
from analysis.inputs.readers.base import RawTable, _and_list

_XML_HEADER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*(?:/[A-Za-z0-9_.:-]+)*")


def check_xml_headers(table: RawTable) -> None:
    """Refuse an export whose headers are question labels instead of XML names (case 7).

    KoboToolbox exports made with a label language give headers such as
    ``Group 1/Sub Group 1/G1SG1Q1`` or ``Berapa pendapatan...?``; these cannot be matched to
    the form.  XML names contain no spaces or punctuation other than ``_ . - :`` (and ``/``
    between groups).

    Parameters
    ----------
    table
        The table as read by :func:`read_table`.

    Raises
    ------
    InputError
        Naming the file and a few of the offending headers.
    """
    labels = [str(c) for c in table.frame.columns if not _XML_HEADER_RE.fullmatch(str(c))]
    if not labels:
        return
    shown = ", ".join(repr(c) for c in labels[:3])
    more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
    raise InputError(
        f"export uses question labels as headers; re-export with XML values ({len(labels)} of "
        f"{table.frame.shape[1]} headers are not XML names: {shown}{more})",
        file=table.path,
        sheet=table.sheet,
    )


def resolve_form_names(table: RawTable, form_paths: Iterable[str]) -> RawTable:
    """Rename group-prefixed headers to the names in the XLSForm (case 8).

    The same question arrives as ``hh/income`` (KoboToolbox, ``group_sep='/'``), ``hh-income``
    (ODK Briefcase/Central) or ``income`` (group names removed).  Each resolves to the XLSForm
    name ``income``; when that name exists in several groups, to the full path ``hh/income``.
    select_multiple dummies (``hh/assets/motor``) keep their choice suffix (``assets/motor``).
    Headers that match no question (``_uuid``, ``KEY`` ...) are left as they are.

    Parameters
    ----------
    table
        The table as read by :func:`read_table`.
    form_paths
        The ``/``-joined path of every question in the form's ``survey`` sheet, e.g.
        ``["consent", "hh/hhid", "hh/income", "farm/income"]``.

    Returns
    -------
    RawTable
        A copy with renamed columns and one logged fix per renamed column.

    Raises
    ------
    InputError
        If a header without its group prefix matches a name used in several groups, or if two
        headers resolve to the same name.
    """
    paths = [tuple(p.split("/")) for p in dict.fromkeys(form_paths) if p]
    leaves: dict[str, list[tuple[str, ...]]] = {}
    for p in paths:
        leaves.setdefault(p[-1], []).append(p)

    def target(p: tuple[str, ...]) -> str:
        return p[-1] if len(leaves[p[-1]]) == 1 else "/".join(p)

    variants: dict[str, set[tuple[str, ...]]] = {}
    for p in paths:
        for spelling in {"/".join(p), "-".join(p), p[-1]}:
            variants.setdefault(spelling, set()).add(p)

    def lookup(header: str) -> str | None:
        found = variants.get(header)
        if not found:
            return None
        if len(found) > 1:
            groups = sorted("/".join(p[:-1]) or "(top level)" for p in found)
            raise InputError(
                f"name exists in groups {_and_list(groups)} and the export has no group "
                "prefix – re-export with group names",
                file=table.path,
                column=header,
                sheet=table.sheet,
            )
        return target(next(iter(found)))

    renames: dict[str, str] = {}
    for header in (str(c) for c in table.frame.columns):
        new = lookup(header)
        if new is None:
            # select_multiple dummy or split geopoint: question spelling + separator + suffix.
            for cut in (m.start() for m in re.finditer(r"[/-]", header)):
                base = lookup(header[:cut])
                if base is not None:
                    new = base + header[cut:]
                    break
        if new is not None and new != header:
            renames[header] = new

    if not renames:
        return table
    final = [renames.get(str(c), str(c)) for c in table.frame.columns]
    clashes: dict[str, list[str]] = {}
    for old, new in zip(table.frame.columns, final, strict=True):
        clashes.setdefault(new, []).append(str(old))
    clashing = {new: olds for new, olds in clashes.items() if len(olds) > 1}
    if clashing:
        parts = [f"{_and_list(olds)} all resolve to {new}" for new, olds in clashing.items()]
        raise InputError(
            f"columns {'; '.join(parts)} – remove the duplicate columns",
            file=table.path,
            rows=[1],
            sheet=table.sheet,
        )
    frame = table.frame.copy()
    frame.columns = pd.Index(final, dtype=object)
    fixes = tuple(f"column {old} -> {new} (XLSForm name)" for old, new in renames.items())

    def rename_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
        return {renames.get(k, k): v for k, v in mapping.items()}

    return replace(
        table,
        frame=frame,
        fixes=table.fixes + fixes,
        value_labels=rename_keys(table.value_labels),
        user_missing=rename_keys(table.user_missing),
        numeric_cells=rename_keys(table.numeric_cells),
        numeric_digits=rename_keys(table.numeric_digits),
    )
