"""The rounds of a study as the stages read them: in their own files, or in one long file.

A study whose rounds are all in one file (``rounds: {file, column}``) names its rounds in that
file's round column; without ``rounds.order`` they are known only once the column is read
(:func:`analysis.inputs.study.order_long_rounds`). :func:`study_rounds` reads them, and
:func:`round_table` gives the rows of one round as if they were a file of their own, each
record keeping its row number in the long file so that every message points at a cell the
user can open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from analysis.errors import InputError, StudyError
from analysis.inputs.codebook import Codebook, Variable, read_codebook
from analysis.inputs.readers import RawTable, read_table
from analysis.inputs.study import Study, order_long_rounds, with_round_order

#: The record id a repeated cross-section (a study without ``id``) is cleaned with: the round
#: and the record's row in its file, so each record is its own household and two identical
#: answers are two respondents, not a duplicate submission.
RECORD_ID = "berdaya_record"


def with_record_ids(study: Study, table: RawTable, round_name: str) -> tuple[Study, RawTable]:
    """A study without ``id`` and one round's export, given a record id to clean with.

    Cleaning and de-identification follow households by their id; a repeated cross-section has
    none to follow, so each record gets :data:`RECORD_ID` (``<round>:<row>``), which is then
    pseudonymized like any id. A study with ``id`` is returned unchanged.
    """
    if study.id:
        return study, table
    if study.codebook is not None:
        named = read_codebook(study.codebook).by_role("household_id")
        if named:
            raise StudyError(
                f"{study.path.name} has no `id`, so it is read as a repeated cross-section, but "
                f"{study.codebook.name} gives the role household_id to {named[0].name}: write "
                f"`id: {named[0].name}` to follow households across rounds, or remove that role"
            )
    ids = [f"{round_name}:{row}" for row in table.row_numbers.tolist()]
    frame = table.frame.assign(**{RECORD_ID: ids})
    return dataclasses.replace(study, id=RECORD_ID), dataclasses.replace(table, frame=frame)


def with_record_variable(codebook: Codebook, rounds: Sequence[str]) -> Codebook:
    """A codebook with :data:`RECORD_ID` as the household id of ``rounds`` (a study without ``id``).

    The record id is berdaya's own column (:func:`with_record_ids`), so a study's codebook
    cannot list it; it is added, pseudonymized like any id. A codebook that has it is returned
    as it is.
    """
    if RECORD_ID in codebook:
        return codebook
    record = Variable(
        name=RECORD_ID, type="id", sources=dict.fromkeys(rounds, RECORD_ID), role="household_id"
    )
    return dataclasses.replace(codebook, variables=(record, *codebook.variables))


def _round_labels(study: Study, table: RawTable) -> tuple[pd.Series, tuple[str, ...]]:
    """Each record's round and the rounds in time order, from the long file's round column."""
    design = study.round_design
    column = design.round_column
    assert design.long_file is not None and column is not None
    if column not in table.frame.columns:
        raise InputError(
            f"the round column {column} named in `rounds.column` of {study.path.name} is not in the file",
            file=table.path,
            sheet=table.sheet,
        )
    return order_long_rounds(table.frame[column], column=column, order=design.round_order, file=table.path)


def study_rounds(study: Study) -> Study:
    """The study with every round known, in time order.

    Rounds in their own files, or a long file with ``rounds.order``, are known from the study
    file: the study is returned as it is. Otherwise the long file's round column is read.

    Raises
    ------
    InputError
        When the round column is missing, has an empty cell, or its rounds cannot be ordered.
    """
    design = study.round_design
    if design.long_file is None or design.round_order:
        return study
    long_file = design.long_file
    table = read_table(long_file.file, sheet=long_file.sheet)
    _, order = _round_labels(study, table)
    return with_round_order(study, order)


def round_table(study: Study, round_name: str) -> tuple[Study, RawTable]:
    """The raw records of one round, and the study with its rounds known.

    Parameters
    ----------
    study
        The study (its rounds may not be known yet, :func:`study_rounds`).
    round_name
        One of its rounds.

    Returns
    -------
    tuple of (Study, RawTable)
        The study with every round known, and the round's export: its own file, or the
        records of the long file whose round column holds ``round_name`` (each keeping its row
        number in the long file).

    Raises
    ------
    StudyError
        When ``round_name`` is not a round of the study.
    """
    design = study.round_design
    if design.long_file is None:
        if round_name not in study.rounds:
            raise StudyError(
                f"{study.path.name}: {round_name} is not a round of the study "
                f"(its rounds are {', '.join(study.rounds)})"
            )
        spec = study.rounds[round_name]
        return study, read_table(spec.file, sheet=spec.sheet)
    long_file = design.long_file
    table = read_table(long_file.file, sheet=long_file.sheet)
    labels, order = _round_labels(study, table)
    if round_name not in order:
        raise StudyError(
            f"{study.path.name}: {round_name} is not a round of {long_file.file.name} "
            f"(column {design.round_column} holds {', '.join(order)})"
        )
    return with_round_order(study, order), table.take((labels == round_name).to_numpy())
