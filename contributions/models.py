from __future__ import annotations

import secrets

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
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Stands for the member wherever their contributions are published, and
    # stays on those contributions after the account is deleted.
    pseudonym = models.CharField(max_length=40, unique=True, default=new_pseudonym, editable=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        return self.display_name if self.public_profile and self.display_name else self.pseudonym

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
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agreements")
    version = models.CharField(max_length=32)
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "version"], name="one_acceptance_per_version")]
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.version}"


class RoleChange(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_changes")
    changed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    old_role = models.CharField(max_length=16, choices=Role.choices)
    new_role = models.CharField(max_length=16, choices=Role.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.old_role} -> {self.new_role}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class OutgoingEmail(models.Model):
    """One message to send. The row is written in the request's transaction
    and the worker delivers it, so a lost broker message is found again by the
    sweeper instead of losing the email."""

    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    from_email = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.subject} -> {self.to}"
