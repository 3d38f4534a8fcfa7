from __future__ import annotations

import secrets
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_pseudonym() -> str:
    return f"contributor-{secrets.token_hex(5)}"


class Role(models.TextChoices):
    MEMBER = "member", _("Member")
    REVIEWER = "reviewer", _("Reviewer")
    MAINTAINER = "maintainer", _("Maintainer")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("role", Role.MAINTAINER)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A member. The role decides everything else: a maintainer is also a
    reviewer, and the only one who reaches the Django admin."""

    email = models.EmailField(_("email"), unique=True)
    display_name = models.CharField(_("display name"), max_length=80, blank=True)
    affiliation = models.CharField(_("affiliation"), max_length=120, blank=True)
    public_profile = models.BooleanField(_("public profile"), default=False)
    review_digest = models.BooleanField(
        _("daily email of corpora waiting for review"), default=True,
        help_text=_("For reviewers: one email a day when corpora wait for review."),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    # What the site and its emails speak to this member; empty until chosen
    # (or set at sign-up from the language the site was read in).
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=[("fr", _("French")), ("en", _("English"))]
    )
    # Stands for the member wherever their contributions are published, and
    # stays on those contributions after the account is deleted.
    pseudonym = models.CharField(_("pseudonym"), max_length=40, unique=True, default=new_pseudonym, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        return self.display_name if self.public_profile and self.display_name else self.pseudonym

    @property
    def last_suspension(self) -> AccountEvent | None:
        """With ``accounts.members_with_suspension``: the latest suspension."""
        suspensions = getattr(self, "suspensions", None)
        return suspensions[0] if suspensions else None

    @property
    def is_reviewer(self) -> bool:
        return self.role in {Role.REVIEWER, Role.MAINTAINER}

    @property
    def is_maintainer(self) -> bool:
        return self.role == Role.MAINTAINER

    # The Django admin asks for these; they follow from the role.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_maintainer

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list, obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff


class AgreementAcceptance(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agreements", verbose_name=_("member"))
    version = models.CharField(_("version"), max_length=32)
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)

    class Meta:
        verbose_name = _("agreement acceptance")
        verbose_name_plural = _("agreement acceptances")
        constraints = [models.UniqueConstraint(fields=["user", "version"], name="one_acceptance_per_version")]
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.version}"


class RoleChange(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_changes", verbose_name=_("member"))
    changed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("changed by"),
    )
    old_role = models.CharField(_("former role"), max_length=16, choices=Role.choices)
    new_role = models.CharField(_("new role"), max_length=16, choices=Role.choices)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("role change")
        verbose_name_plural = _("role changes")
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.old_role} -> {self.new_role}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Job(models.Model):
    """A unit of work for the workers. The row is the job: the broker only
    wakes a worker, which claims the row with a conditional update. Every
    kind of job follows the same rules (contributions.jobs)."""

    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    # Each claim increments it; the worker's writes carry it, so a worker
    # that lost its claim cannot overwrite the one that took over.
    attempt = models.PositiveIntegerField(_("attempt"), default=0)
    # A maintainer's retry grants a fresh set of attempts from here, without
    # ever reusing an attempt number (which fences the workers).
    attempt_base = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Not claimed before this time (a retry's back-off); the sweeper counts
    # a lost message from it.
    run_after = models.DateTimeField(_("not before"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Which worker process holds the claim ("host:pid"), for the operations page.
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    # What the finished job keeps in storage.
    storage_bytes = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["status", "run_after"], name="%(class)s_due")]

    # The questions pages ask (templates never compare raw statuses).
    @property
    def is_queued(self) -> bool:
        return self.status == JobStatus.QUEUED

    @property
    def is_running(self) -> bool:
        return self.status == JobStatus.RUNNING

    @property
    def is_done(self) -> bool:
        return self.status == JobStatus.DONE

    @property
    def is_failed(self) -> bool:
        return self.status == JobStatus.FAILED

    @property
    def is_cancelled(self) -> bool:
        return self.status == JobStatus.CANCELLED

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, int(100 * self.progress_done / self.progress_total)) if self.progress_total else 0

    @property
    def eta_seconds(self) -> int | None:
        if not self.is_running or not self.started_at or not self.progress_done:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return max(0, int(elapsed * (self.progress_total - self.progress_done) / self.progress_done))


class OutgoingEmail(Job):
    """One message to send. The row is written in the request's transaction
    and the worker delivers it, so a lost broker message is found again by the
    sweeper instead of losing the email."""

    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    from_email = models.CharField(_("from"), max_length=255)

    class Meta(Job.Meta):
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")

    def __str__(self) -> str:
        return f"{self.subject} -> {self.to}"


# ---------------------------------------------------------------- corpora


class License(models.TextChoices):
    """Open licenses, by SPDX id. The non-commercial ones are accepted but
    marked restricted: they go to a separate release config."""

    CC0 = "CC0-1.0", "CC0 1.0 (CC0-1.0)"
    CC_BY = "CC-BY-4.0", "Creative Commons BY 4.0 (CC-BY-4.0)"
    CC_BY_SA = "CC-BY-SA-4.0", "Creative Commons BY-SA 4.0 (CC-BY-SA-4.0)"
    ETALAB = "etalab-2.0", "Licence Ouverte / Open Licence 2.0 (etalab-2.0)"
    ODC_BY = "ODC-By-1.0", "Open Data Commons Attribution 1.0 (ODC-By-1.0)"
    PDDL = "PDDL-1.0", "Open Data Commons Public Domain Dedication 1.0 (PDDL-1.0)"
    PUBLIC_DOMAIN = "public-domain", _("Public domain")
    CC_BY_NC = "CC-BY-NC-4.0", _("Creative Commons BY-NC 4.0 (CC-BY-NC-4.0), restricted: non-commercial")
    CC_BY_NC_SA = "CC-BY-NC-SA-4.0", _("Creative Commons BY-NC-SA 4.0 (CC-BY-NC-SA-4.0), restricted: non-commercial")


RESTRICTED_LICENSES = frozenset({License.CC_BY_NC, License.CC_BY_NC_SA})


class Domain(models.TextChoices):
    NEWS = "news", _("News")
    LITERATURE = "literature", _("Literature")
    LEGAL = "legal", _("Legal")
    ADMINISTRATIVE = "administrative", _("Administrative")
    SCIENTIFIC = "scientific", _("Scientific")
    ENCYCLOPEDIC = "encyclopedic", _("Encyclopedic")
    EDUCATION = "education", _("Education")
    CONVERSATION = "conversation", _("Conversation")
    WEB = "web", _("Web")
    OTHER = "other", _("Other")


# The official languages of the EU, plus regional languages of France.
LANGUAGES = [
    ("fr", _("French")), ("en", _("English")), ("de", _("German")), ("es", _("Spanish")), ("it", _("Italian")),
    ("pt", _("Portuguese")), ("nl", _("Dutch")), ("pl", _("Polish")), ("ro", _("Romanian")), ("sv", _("Swedish")),
    ("da", _("Danish")), ("fi", _("Finnish")), ("el", _("Greek")), ("cs", _("Czech")), ("sk", _("Slovak")),
    ("sl", _("Slovenian")), ("hu", _("Hungarian")), ("bg", _("Bulgarian")), ("hr", _("Croatian")),
    ("et", _("Estonian")), ("lv", _("Latvian")), ("lt", _("Lithuanian")), ("ga", _("Irish")), ("mt", _("Maltese")),
    ("br", _("Breton")), ("ca", _("Catalan")), ("eu", _("Basque")), ("co", _("Corsican")), ("oc", _("Occitan")),
]


class CorpusStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    PROCESSING = "processing", _("Processing")
    AWAITING_REVIEW = "awaiting_review", _("Awaiting review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    QUEUED_FOR_TRAINING = "queued_for_training", _("Queued for training")
    RELEASED = "released", _("Released")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    FAILED = "failed", _("Failed")


class Corpus(models.Model):
    submitter = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="corpora", verbose_name=_("submitter"),
    )
    # Kept when the account is deleted: the corpus stays credited to it.
    submitter_pseudonym = models.CharField(_("submitter's pseudonym"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    languages = models.JSONField(_("languages"), default=list)
    license = models.CharField(_("license"), max_length=32, choices=License.choices)
    source_url = models.URLField(_("source URL"), max_length=500, blank=True)
    collection_method = models.TextField(_("how the text was collected"), blank=True)
    domain = models.CharField(_("domain"), max_length=32, choices=Domain.choices)
    period_start = models.PositiveSmallIntegerField(_("period covered: from (year)"), null=True, blank=True)
    period_end = models.PositiveSmallIntegerField(_("period covered: to (year)"), null=True, blank=True)
    rights_attested = models.BooleanField(_("rights attested"), default=False)
    web_collected = models.BooleanField(_("gathered from the web"), default=False)
    tdm_respected = models.BooleanField(_("text and data mining opt-outs respected"), default=False)
    may_contain_personal_data = models.BooleanField(_("may contain personal data"), default=False)
    status = models.CharField(_("status"), max_length=32, choices=CorpusStatus.choices, default=CorpusStatus.DRAFT)
    status_reason = models.TextField(_("reason of the status"), blank=True)
    # Bumped at every submission: an analysis belongs to one version.
    version = models.PositiveIntegerField(_("version"), default=0)
    review_started_at = models.DateTimeField(_("review started"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # What the analysis of the current version found, kept on the row so
    # that lists and statistics never read a report or a file.
    documents = models.BigIntegerField(_("documents"), default=0)
    words = models.BigIntegerField(_("words"), default=0)
    characters = models.BigIntegerField(_("characters"), default=0)
    # "I am reviewing this": shown to other reviewers, and hidden from their
    # queue on request, until it expires (review.corpus_claim).
    claimed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("reviewer on it"),
    )
    claim_expires_at = models.DateTimeField(_("reviewer on it until"), null=True, blank=True)

    class Meta:
        verbose_name = _("corpus")
        verbose_name_plural = _("corpora")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_restricted(self) -> bool:
        return self.license in RESTRICTED_LICENSES


class CorpusLanguage(models.Model):
    """A language the analysis found in a corpus version, with its share:
    what the catalogue filters on and the statistics add up."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="detected_languages")
    language = models.CharField(max_length=16)
    documents = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-documents", "language"]
        constraints = [models.UniqueConstraint(fields=["corpus", "language"], name="one_share_per_language")]
        indexes = [models.Index(fields=["language", "corpus"])]

    def __str__(self) -> str:
        return f"{self.corpus_id}: {self.language}"


class CorpusFile(models.Model):
    class Split(models.TextChoices):
        FILE = "file", _("one document per file")
        BLANK_LINES = "blank_lines", _("split on blank lines")
        SEPARATOR = "separator", _("split on a separator line")

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(max_length=500)
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=16)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    split = models.CharField(max_length=16, choices=Split.choices, default=Split.FILE)
    separator = models.CharField(max_length=100, blank=True)
    text_column = models.CharField(max_length=100, default="text")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["original_name", "id"]

    def __str__(self) -> str:
        return self.original_name


class AnalysisRun(Job):
    """One analysis of one version of a corpus: its progress (in bytes of
    its files), and the report once done."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="analyses", verbose_name=_("corpus"))
    corpus_version = models.PositiveIntegerField(_("corpus version"))
    documents_done = models.BigIntegerField(_("documents analysed"), default=0)
    report = models.JSONField(default=dict, blank=True)
    shards = models.JSONField(default=list, blank=True)
    # The near-duplicates found within the corpus (doc_index, duplicate_of).
    near_duplicates = models.CharField(max_length=500, blank=True)
    # A large corpus is analysed in parts (AnalysisPart) by many workers; the
    # run then waits, queued, for its parts, and merges them.
    parts_count = models.PositiveIntegerField(default=0)
    # Parts are merged in order as soon as they and those before them are
    # done, by whichever worker is there: how many are, and where the merge
    # stands (AnalysisMergeState).
    merged_parts = models.PositiveIntegerField(default=0)
    merge_state = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"analysis {self.pk} of corpus {self.corpus_id} v{self.corpus_version}"

    # While its parts run, a split analysis is running for the people who
    # follow it, whatever its own row says.
    @property
    def is_queued(self) -> bool:
        return self.status == JobStatus.QUEUED and not self.parts_count

    @property
    def is_running(self) -> bool:
        return self.status == JobStatus.RUNNING or (self.status == JobStatus.QUEUED and bool(self.parts_count))


class AnalysisPart(Job):
    """A part of a split analysis: a few whole files, or a range of the
    lines of a large text file or of the row groups of a large Parquet file,
    analysed by any worker. Its documents are numbered from 0 and its lines
    from the range's first; the run's merge numbers them in the corpus."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    # Kept when the file goes (the analysis is cancelled then), so that the
    # part's shards are found and deleted.
    file = models.ForeignKey(CorpusFile, on_delete=models.SET_NULL, null=True, related_name="+")
    # Small files go together: this many files of the corpus, ``file`` the
    # first of them in the corpus's order, each whole.
    file_count = models.PositiveIntegerField(default=1)
    # Bytes of the file whose lines (Parquet: row groups) start in the part;
    # the whole file when end is None.
    start = models.BigIntegerField(default=0)
    end = models.BigIntegerField(null=True, blank=True)
    documents = models.BigIntegerField(default=0)
    lines = models.BigIntegerField(default=0)
    # Characters of text its range gave: a file's parts together may expand
    # no more than the file read whole.
    chars = models.BigIntegerField(default=0)
    shards = models.JSONField(default=list, blank=True)
    # The part's counters for the report (AnalysisSummary).
    summary = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="analysis_part_number")]

    def __str__(self) -> str:
        return f"part {self.number} of analysis {self.run_id}"


class DocumentFingerprint(models.Model):
    """The content hash of every analysed document: duplicates against the
    corpora already accepted are found here."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="+")
    hash = models.BigIntegerField(db_index=True)
    doc_index = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.corpus_id}:{self.doc_index}"


# ---------------------------------------------------------------- review


class CorpusEvent(models.Model):
    """The audit trail: every status change of a corpus, and who made it."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("by"),
    )
    from_status = models.CharField(_("former status"), max_length=32, choices=CorpusStatus.choices)
    to_status = models.CharField(_("new status"), max_length=32, choices=CorpusStatus.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("corpus event")
        verbose_name_plural = _("corpus events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.corpus_id}: {self.from_status} -> {self.to_status}"


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REQUEST_CHANGES = "request_changes", _("Request changes")
    REJECT = "reject", _("Reject")


class RejectReason(models.TextChoices):
    RIGHTS = "rights", _("Rights not established")
    LICENSE = "license", _("License not acceptable")
    PERSONAL_DATA = "personal_data", _("Too much personal data")
    QUALITY = "quality", _("Quality too low")
    LANGUAGE = "language", _("Not in the declared languages")
    DUPLICATE = "duplicate", _("Already in accepted data")
    OFFENSIVE = "offensive", _("Offensive or illegal content")
    OTHER = "other", _("Other")


class Review(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="reviews")
    corpus_version = models.PositiveIntegerField()
    reviewer = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="reviews")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.CharField(max_length=16, choices=RejectReason.choices, blank=True)
    comment = models.TextField(blank=True)
    # The reviewing guidelines in force when the decision was made.
    guidelines_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["corpus", "corpus_version", "reviewer"], name="one_decision_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} {self.decision} {self.corpus_id} v{self.corpus_version}"


class Exclusion(models.Model):
    """What a reviewer keeps out of the training-ready version: one document,
    or a whole category of them."""

    class Kind(models.TextChoices):
        DOCUMENT = "document", _("Document")
        PERSONAL_DATA = "personal_data", _("Documents with personal data")
        NEAR_DUPLICATES = "near_duplicates", _("Near-duplicates")
        EXACT_DUPLICATES = "exact_duplicates", _("Exact duplicates")
        FLAG = "flag", _("Quality flag")

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="exclusions")
    corpus_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=64, blank=True)  # the document index or the flag
    # The exclusions made in one bulk step share it, and are undone together.
    batch = models.CharField(max_length=32, blank=True, db_index=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["corpus", "corpus_version", "kind", "value"], name="one_exclusion")
        ]

    def __str__(self) -> str:
        return f"{self.corpus_id} v{self.corpus_version}: {self.kind} {self.value}"


class ReviewGuidelines(models.Model):
    """One version of the reviewing guidelines (Markdown); the newest is in
    force. Never edited in place: a change is a new version."""

    version = models.PositiveIntegerField(unique=True)
    body = models.TextField(_("guidelines"))
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("reviewing guidelines")
        verbose_name_plural = _("reviewing guidelines")

    def __str__(self) -> str:
        return f"guidelines v{self.version}"


class Comment(models.Model):
    """The discussion between a submitter and the reviewers of a corpus."""

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    author_pseudonym = models.CharField(max_length=40)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.corpus_id}"


class TrainingVersion(Job):
    """The training-ready documents of an approved corpus version: exclusions
    applied, personal data replaced by placeholders, accepted duplicates
    removed."""

    corpus = models.ForeignKey(
        Corpus, on_delete=models.CASCADE, related_name="training_versions", verbose_name=_("corpus"),
    )
    corpus_version = models.PositiveIntegerField(_("corpus version"))
    shards = models.JSONField(default=list, blank=True)
    documents = models.BigIntegerField(_("documents"), default=0)
    words = models.BigIntegerField(_("words"), default=0)
    characters = models.BigIntegerField(_("characters"), default=0)
    excluded = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        verbose_name = _("training-ready version")
        verbose_name_plural = _("training-ready versions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"training version of corpus {self.corpus_id} v{self.corpus_version}"


class Notification(models.Model):
    """Something that concerns a member. Stored as a kind and its
    parameters, and put into words when shown, in the reader's language
    (contributions.notifications.notification_text)."""

    class Kind(models.TextChoices):
        DECISION = "decision", _("Review decision")
        COMMENT = "comment", _("Comment")
        RELEASED = "released", _("Corpus in a release")
        UNPUBLISHED = "unpublished", _("Corpus unpublished")
        SUSPENDED = "suspended", _("Account suspended")
        REINSTATED = "reinstated", _("Suspension lifted")
        ROLE_CHANGED = "role_changed", _("Role changed")
        REMOVAL_OUTCOME = "removal_outcome", _("Removal request")
        MESSAGE = "message", _("Message")  # written before kinds existed

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.MESSAGE)
    params = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class AccountEvent(models.Model):
    """The audit trail of moderation on accounts: suspensions and their
    lifting, with the maintainer's reason."""

    class Kind(models.TextChoices):
        SUSPENDED = "suspended", _("Suspended")
        REINSTATED = "reinstated", _("Suspension lifted")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_events", verbose_name=_("member"))
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class AbuseReport(models.Model):
    class Reason(models.TextChoices):
        COPYRIGHT = "copyright", _("Copyright")
        PERSONAL_DATA = "personal_data", _("Personal data")
        OFFENSIVE = "offensive", _("Offensive content")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UNPUBLISHED = "unpublished", _("Corpus unpublished")
        DISMISSED = "dismissed", _("Dismissed")

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="abuse_reports")
    doc_index = models.BigIntegerField(null=True, blank=True)
    reporter = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    comment = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"report {self.pk} on corpus {self.corpus_id}"


# ---------------------------------------------------------------- releases


class Release(Job):
    """A versioned dataset release, built by the worker from training-ready
    corpus versions. Visible only once its build is done."""

    version = models.SlugField(_("version"), max_length=40, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by"),
    )
    public = models.BooleanField(_("public"), default=False)
    # The inputs: which corpus versions (ReleaseEntry, recorded once at
    # creation), and the filters applied to their documents.
    corpora = models.ManyToManyField(Corpus, through="ReleaseEntry", related_name="releases", blank=True)
    filters = models.JSONField(default=dict, blank=True)
    # The outputs.
    prefix = models.CharField(max_length=255, blank=True)
    files = models.JSONField(default=list, blank=True)  # [{"path", "sha256", "bytes"}]
    stats = models.JSONField(default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta(Job.Meta):
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.version


class ReleaseEntry(models.Model):
    """One corpus version in a release. Written once when the release is
    created, after the corpus-level filters (license, domain); the build
    fills in what it kept. "Where my text went" reads these rows."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="entries")
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="release_entries")
    training_version = models.ForeignKey(TrainingVersion, on_delete=models.SET_NULL, null=True, related_name="+")
    # Filled by the build. ``documents`` are the rows the release carries.
    documents = models.BigIntegerField(default=0)
    words = models.BigIntegerField(default=0)
    # Left out of the training-ready version by the reviewers' exclusions.
    excluded = models.BigIntegerField(default=0)
    # Dropped as duplicates: of accepted data, or of another corpus of the release.
    duplicates = models.BigIntegerField(default=0)
    # Left out by the release's language or flag filters, or removed on request.
    filtered = models.BigIntegerField(default=0)
    # Documents carried with personal data replaced by placeholders.
    masked = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["release", "corpus_id"]
        constraints = [models.UniqueConstraint(fields=["release", "corpus"], name="one_entry_per_corpus")]

    def __str__(self) -> str:
        return f"{self.release_id}: corpus {self.corpus_id}"


class RemovalRequest(models.Model):
    """Someone asks for their text or their data to be left out. The search
    runs once the requester has confirmed their address (RemovalSearch),
    and its outcome goes to that address only."""

    class Kind(models.TextChoices):
        COPYRIGHT = "copyright", _("Copyright")
        PERSONAL_DATA = "personal_data", _("Personal data")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    phrase = models.TextField(blank=True)
    # Only the hash of an email address is kept, as the analysis keeps it.
    email_key = models.CharField(max_length=64, blank=True)
    contact = models.EmailField()
    description = models.TextField(blank=True)
    # The language the request was made in: what the emails are written in.
    language = models.CharField(max_length=8, blank=True)
    # When the requester proved that the contact address is theirs.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"removal request {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_accepted(self) -> bool:
        return self.status == self.Status.ACCEPTED


class RemovalSearch(Job):
    """The search of a removal request in the latest public release."""

    request = models.OneToOneField(RemovalRequest, on_delete=models.CASCADE, related_name="search")
    release = models.ForeignKey(Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    matches = models.JSONField(default=list, blank=True)  # document ids

    class Meta(Job.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"search of removal request {self.request_id}"


class RemovedDocument(models.Model):
    """A document that no later release contains."""

    doc_id = models.CharField(max_length=64, unique=True)
    request = models.ForeignKey(RemovalRequest, on_delete=models.SET_NULL, null=True, related_name="removed")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.doc_id


class ApiToken(models.Model):
    """A member's personal key for scripts. Only the SHA-256 of the key is
    kept (the key is random, so a fast hash is enough); ``prefix`` lets the
    member tell their keys apart."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ResumableUpload(models.Model):
    """A tus upload under way: its bytes so far lie in a file of
    RESUMABLE_UPLOAD_DIR named after ``key``; once whole, the file is
    checked and becomes a CorpusFile of ``corpus``. A finished upload's row
    stays until the clean-up, so that a client that lost the answer to its
    last chunk still learns that the upload is whole."""

    class Status(models.TextChoices):
        RECEIVING = "receiving", _("Receiving")
        DONE = "done", _("Done")

    key = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    split = models.CharField(max_length=16, default="file")
    separator = models.CharField(max_length=100, blank=True)
    text_column = models.CharField(max_length=100, default="text")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVING)
    # The file it became. A refused file leaves no row: the response of
    # its last chunk said why.
    corpus_file = models.ForeignKey(CorpusFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"upload {self.key} of {self.name}"
