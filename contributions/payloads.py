"""The shapes of the JSON kept on rows: the analysis report, release inputs,
statistics and files. JSON fields give back plain dicts; these say what is in
them, for mypy and for the reader."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from .texts import Message


class ReportProblem(TypedDict):
    source: str
    line: int | None
    # A code and its parameters, put into words when read (contributions.texts);
    # reports written before hold the sentence.
    message: Message | str


class LanguageShare(TypedDict):
    language: str
    documents: int
    rate: float


class PersonalDataCount(TypedDict):
    documents: int
    occurrences: int
    rate: float


class FlagCount(TypedDict):
    documents: int
    rate: float


class DuplicateCounts(TypedDict):
    exact_within: int
    exact_within_rate: float
    exact_accepted: int
    exact_accepted_rate: float
    near_within: int
    near_within_rate: float


class LengthBucket(TypedDict):
    label: str
    documents: int


class EncodingCounts(TypedDict):
    mojibake_fixed: int
    control_characters_removed: int
    replacement_characters: int


class PersonalDataSpan(TypedDict):
    kind: str
    start: int
    end: int


class SampleDocument(TypedDict):
    doc_index: int
    source: str
    line: int | None
    language: str
    flags: list[str]
    personal_data: list[PersonalDataSpan]
    text: str
    truncated: bool


class SkippedCounts(TypedDict):
    empty: int
    problems: int


class FailureReport(TypedDict):
    """What a failed analysis keeps: the records skipped, and why."""

    processing_version: str
    documents: int
    problems: list[ReportProblem]
    problems_total: int
    files: dict[str, dict[str, int]]


class AnalysisSummary(TypedDict):
    """What a part of a split analysis counted, for the merged report.
    Languages as pairs: their order of first appearance decides ties."""

    documents: int
    characters: int
    words: int
    languages: list[tuple[str, int]]
    pii_docs: dict[str, int]
    pii_occurrences: dict[str, int]
    flags: dict[str, int]
    lengths: list[int]
    exact_accepted: int
    mojibake: int
    controls: int
    replacements: int
    empty: int
    problems: list[ReportProblem]
    problems_total: int
    files: dict[str, dict[str, int]]


class AnalysisMergeState(TypedDict):
    """Where the merge of a split analysis stands, after its first
    ``merged_parts`` parts: what the next part's merge starts from."""

    documents: int  # documents merged: the next one's number in the corpus
    file: int | None  # the file of the last part merged...
    lines: int  # ...and its lines in the parts merged
    chars: NotRequired[int]  # ...and the characters they gave (states from before it: 0)
    exact_within: int
    sample: list[SampleDocument]
    rng: list  # the sample's random.Random state, as JSON
    shards: list[str]
    bytes: int  # their size in storage


class AnalysisReport(FailureReport):
    characters: int
    words: int
    bytes_read: int
    skipped: SkippedCounts
    languages: list[LanguageShare]
    personal_data: dict[str, PersonalDataCount]
    duplicates: DuplicateCounts
    quality: dict[str, FlagCount]
    length_histogram: list[LengthBucket]
    encoding: EncodingCounts
    sample: list[SampleDocument]


class ReleaseFilters(TypedDict):
    """The inputs of a release, fixed when it is created."""

    licenses: list[str]
    languages: list[str]
    domains: list[str]
    drop_flags: list[str]
    removed: list[str]


class ReleaseFile(TypedDict):
    path: str
    sha256: str
    bytes: int


class ConfigStats(TypedDict):
    documents: int
    files: int
    words: int
    # The languages of its rows, and "open" or "restricted".
    languages: list[str]
    family: str


class CorpusStats(TypedDict):
    """What a release kept of one corpus (as on its ReleaseEntry)."""

    documents: int
    words: int
    excluded: int
    duplicates: int
    filtered: int
    masked: int


class DuplicatesRemoved(TypedDict):
    exact: int
    near: int


class LicenseWords(TypedDict):
    license: str
    words: int
    # Against the previous release (its words when there is none).
    change: int


class ReleaseNotes(TypedDict):
    """What changed since the previous release, as data: the page puts it
    into words in the reader's language."""

    previous: str | None  # its version
    corpora_added: list[int]
    corpora_removed: list[int]
    documents_added: int
    documents_removed: int
    removed_on_request: int
    words_by_license: list[LicenseWords]


class _ReleaseStatsBase(TypedDict):
    documents: int
    words: int
    configs: dict[str, ConfigStats]
    corpora: dict[str, CorpusStats]
    words_by_license: dict[str, int]
    duplicates_removed: DuplicatesRemoved
    languages: list[str]
    removed_ids: list[str]


class CardCorpus(TypedDict):
    """A line of the card's provenance table, as credited at the build."""

    id: int
    title: str
    license: str
    domain: str
    source: str
    submitter: str
    reviewers: list[str]
    documents: int


class ReleaseCardData(TypedDict):
    """What the dataset card says, as data: the README.md of the release is
    its English rendering, the release page renders it in the reader's
    language (releases.card_markdown)."""

    site_name: str
    version: str
    processing_version: str
    default_config: str
    documents: int
    words: int
    languages: list[str]
    configs: dict[str, ConfigStats]
    duplicates_removed: DuplicatesRemoved
    removed: int  # documents removed on request (their ids are in removed_ids.txt)
    # The release's filters, without the removed ids.
    filters: dict[str, list[str]]
    provenance: list[CardCorpus]


class ReleaseStats(_ReleaseStatsBase, total=False):
    # Added once the build is done (releases.release_notes).
    notes: ReleaseNotes
    # Added by the build (releases.dataset_card); releases built before it
    # have only their README.md.
    card: ReleaseCardData


# The public statistics (contributions.stats, served at /stats.json). A
# stable shape: a change that drops or renames a key raises "version".
# Codes, never names: the JSON is language-neutral.


class StatsTotals(TypedDict):
    members: int  # active accounts
    contributors: int  # active accounts with at least one accepted corpus
    corpora: int  # accepted (published) corpora
    corpora_in_analysis: int  # submitted, being analysed
    corpora_awaiting_review: int
    documents: int  # in accepted corpora
    words: int
    releases: int  # public, built


class StatsLicense(TypedDict):
    license: str  # SPDX id
    corpora: int
    documents: int
    words: int


class StatsLicenseFamily(TypedDict):
    family: str  # "open" or "restricted" (non-commercial)
    corpora: int
    documents: int
    words: int


class StatsDomain(TypedDict):
    domain: str
    corpora: int
    documents: int
    words: int


class StatsLanguage(TypedDict):
    language: str  # the code the analysis detected
    corpora: int
    documents: int


class StatsMonth(TypedDict):
    month: str  # "YYYY-MM", in the site's time zone
    corpora_accepted: int
    documents_accepted: int
    words_accepted: int
    members_joined: int
    # Running totals up to the end of the month.
    corpora_total: int
    words_total: int
    members_total: int


class StatsReview(TypedDict):
    # Decisions: a version's review ending in approval, a request for
    # changes or a rejection.
    decided: int
    approved: int
    changes_requested: int
    rejected: int
    acceptance_rate: float | None  # approved / decided
    median_seconds_to_decision: float | None


class Stats(TypedDict):
    version: int
    generated_at: str  # ISO 8601
    totals: StatsTotals
    by_license: list[StatsLicense]
    by_license_family: list[StatsLicenseFamily]
    by_language: list[StatsLanguage]
    by_domain: list[StatsDomain]
    by_month: list[StatsMonth]
    review: StatsReview
