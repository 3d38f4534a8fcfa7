from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .analysis.labels import QUALITY as QUALITY_LABELS
from .analysis.text import QUALITY_FLAGS
from .models import (
    LANGUAGES,
    AbuseReport,
    Corpus,
    CorpusFile,
    Decision,
    Domain,
    Exclusion,
    License,
    RejectReason,
    Role,
    User,
)
from .submissions import metadata_problems


def _agreement_label() -> str:
    return format_html(
        '{} <a href="{}" target="_blank">{}</a>',
        _("I accept the"),
        reverse_lazy("contributions:agreement"),
        _("contributor agreement"),
    )


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up form."""

    field_order = ["email", "password1", "password2", "display_name", "accept_agreement"]

    display_name = forms.CharField(label=_("Display name"), max_length=80, required=False)
    accept_agreement = forms.BooleanField(label=lazy(_agreement_label, str)(), required=True)

    def signup(self, request, user) -> None:
        """allauth calls this after saving; AccountAdapter.save_user already
        registered the member and recorded the agreement."""


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language"), required=False,
        choices=[("", _("Not chosen: the language the page is read in")), *settings.LANGUAGES],
        help_text=_("The language of the site and of the emails you get."),
    )

    class Meta:
        model = User
        fields = ["display_name", "affiliation", "public_profile", "review_digest", "language"]
        help_texts = {
            "public_profile": _("Show your name and affiliation on your public page and on your contributions."),
        }


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. “upload script on the lab server”.")
    )
    days = forms.TypedChoiceField(
        label=_("Expires after"), coerce=int, initial=90,
        choices=[(30, _("30 days")), (90, _("90 days")), (180, _("180 days")), (365, _("one year"))],
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class DeleteAccountForm(forms.Form):
    confirm = forms.BooleanField(label=_("I understand that my account is deleted for good."), required=True)


class CorpusForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=LANGUAGES, initial=["fr"], widget=forms.CheckboxSelectMultiple
    )
    source_url = forms.URLField(label=_("Source URL"), max_length=500, required=False, assume_scheme="https")
    rights_attested = forms.BooleanField(
        label=_("I hold the rights to this text, or its license lets me share it under the license chosen here."),
        required=True,
    )
    tdm_respected = forms.BooleanField(
        label=_(
            "For text gathered from the web: robots.txt and text-and-data-mining reservations "
            "(EU directive 2019/790, art. 4) were respected."
        ),
        required=False,
    )

    class Meta:
        model = Corpus
        fields = [
            "title",
            "description",
            "languages",
            "license",
            "domain",
            "source_url",
            "collection_method",
            "period_start",
            "period_end",
            "web_collected",
            "tdm_respected",
            "may_contain_personal_data",
            "rights_attested",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "collection_method": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "license": _(
                "Non-commercial licenses are accepted but marked restricted: they go to a separate part "
                "of each release."
            ),
            "collection_method": _("How the text was collected: scanning, export from a database, web crawl..."),
            "may_contain_personal_data": _("Names, emails, phone numbers... The analysis looks for them too."),
        }

    def clean(self) -> dict:
        data = super().clean() or {}
        for field, message in metadata_problems(data):
            self.add_error(field, message)
        return data


class UploadForm(forms.Form):
    """Options for the files of one upload; the files themselves are checked
    one by one, so that each gets its own message."""

    split = forms.ChoiceField(
        label=_("Documents in .txt and .md files"), choices=CorpusFile.Split.choices, initial="file"
    )
    separator = forms.CharField(
        label=_("Separator line"),
        max_length=100,
        required=False,
        initial="---",
        help_text=_('Used with "split on a separator line".'),
    )
    text_column = forms.CharField(
        label=_("Text column (.csv, .tsv, .parquet)"), max_length=100, initial="text", required=False
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect)
    reason = forms.ChoiceField(
        label=_("Reason (for a rejection)"), choices=[("", "—"), *RejectReason.choices], required=False
    )
    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=10_000,
        help_text=_("Required to request changes or reject; the submitter reads it."),
    )


class GuidelinesForm(forms.Form):
    # The version the maintainer started from: another published meanwhile is not overwritten unseen.
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    body = forms.CharField(
        label=_("Reviewing guidelines"), widget=forms.Textarea(attrs={"rows": 16}), max_length=50_000,
        help_text=_("Markdown. Saving publishes a new version; the earlier ones stay readable."),
    )


class ExclusionForm(forms.Form):
    kind = forms.ChoiceField(choices=Exclusion.Kind.choices)
    value = forms.CharField(max_length=64, required=False)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class AbuseReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=AbuseReport.Reason.choices)
    doc_index = forms.IntegerField(label=_("Document number (optional)"), required=False, min_value=0)
    comment = forms.CharField(
        label=_("Details"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )


class ResolveForm(forms.Form):
    action = forms.ChoiceField(choices=[("unpublish", _("Unpublish the corpus")), ("dismiss", _("Dismiss"))])
    comment = forms.CharField(required=False, max_length=5000)


class CorpusNumbersInput(forms.TextInput):
    """Corpus numbers typed in one box, plus those ticked in the queue's
    table (checkboxes of the same name): every value sent counts."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name) or ""]
        return " ".join(value for value in values if value)


class CorpusNumbersField(forms.CharField):
    """Some corpora of ``queryset`` by number, or None for all of them: a
    box that scales to any number of corpora, where a list of checkboxes
    would render every one."""

    widget = CorpusNumbersInput

    def __init__(self, *args, **kwargs) -> None:
        self.queryset = Corpus.objects.none()
        super().__init__(*args, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        tokens = [token for token in re.split(r"[\s,;]+", text) if token]
        bad = [token for token in tokens if not (token.isascii() and token.isdigit() and len(token) <= 15)]
        if bad:
            raise forms.ValidationError(
                _("Not a corpus number: %(values)s."), params={"values": ", ".join(bad[:5])}, code="invalid"
            )
        wanted = {int(token) for token in tokens}
        found = list(self.queryset.filter(pk__in=wanted).order_by("id"))
        missing = sorted(wanted - {corpus.pk for corpus in found})
        if missing:
            raise forms.ValidationError(
                _("Not ready for a release: %(values)s."),
                params={"values": ", ".join(str(number) for number in missing[:10])}, code="not_ready",
            )
        return found


class ReleaseForm(forms.Form):
    version = forms.SlugField(label=_("Version"), max_length=40, help_text=_("For example 2026-12 or v1.2."))
    corpora = CorpusNumbersField(
        label=_("Only these corpora"), required=False, max_length=200_000,
        help_text=_("Corpus numbers, separated by spaces or commas, or ticked in the table above. Leave empty to "
                    "take every corpus ready for a release (queued and already released)."),
    )
    licenses = forms.MultipleChoiceField(
        label=_("Only these licenses"), choices=License.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = forms.MultipleChoiceField(
        label=_("Only these languages"), choices=LANGUAGES, required=False, widget=forms.CheckboxSelectMultiple
    )
    domains = forms.MultipleChoiceField(
        label=_("Only these domains"), choices=Domain.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    drop_flags = forms.MultipleChoiceField(
        label=_("Drop documents with these quality flags"),
        required=False,
        choices=[(f, QUALITY_LABELS.get(f, f)) for f in QUALITY_FLAGS],
        widget=forms.CheckboxSelectMultiple,
    )
    public = forms.BooleanField(label=_("Public: anyone may download it"), required=False)

    def __init__(self, *args, corpora=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["corpora"]
        assert isinstance(field, CorpusNumbersField)
        # The corpora that may be chosen; none given, nothing can be.
        field.queryset = corpora if corpora is not None else Corpus.objects.none()


class RemovalRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Reason"),
        choices=[
            ("copyright", _("Copyright: my text is there without my permission")),
            ("personal_data", _("Personal data: data about me is there")),
        ],
        widget=forms.RadioSelect,
    )
    phrase = forms.CharField(
        label=_("An exact phrase of the text"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    contact = forms.EmailField(label=_("Your email, to answer you"))
    search_address = forms.BooleanField(
        label=_("Also look for this address of mine in the data"),
        required=False,
        help_text=_("Only your own address, which you confirm by the link we send to it. It is compared with the "
                    "hashes of the addresses the analysis found."),
    )
    description = forms.CharField(
        label=_("Anything else we should know"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if not (data.get("phrase") or "").strip() and not data.get("search_address"):
            raise forms.ValidationError(_("Give a phrase, or ask to look for your address."))
        return data


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
        help_text=_("The member reads it, and it stays in the audit trail."),
    )
    confirm = forms.BooleanField(
        label=_("I confirm: the member is signed out at once and cannot sign in until the suspension is lifted."),
        required=True,
    )


class ReinstateForm(forms.Form):
    reason = forms.CharField(label=_("Note (optional)"), max_length=2000, required=False)


class CatalogueForm(forms.Form):
    """The catalogue's search and filters (a GET form). A field with a bad
    value is left out of the search and reported; the others still apply."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title or description")}))
    license = forms.ChoiceField(label=_("License"), required=False,
                                choices=[("", _("Any license")), *License.choices])
    family = forms.ChoiceField(
        label=_("License family"), required=False,
        choices=[("", _("Any")), ("open", _("Open")), ("restricted", _("Restricted (non-commercial)"))],
    )
    language = forms.ChoiceField(label=_("Language"), required=False, choices=[("", _("Any language")), *LANGUAGES])
    domain = forms.ChoiceField(label=_("Domain"), required=False, choices=[("", _("Any domain")), *Domain.choices])
    period_from = forms.IntegerField(label=_("Period from (year)"), required=False, min_value=0, max_value=3000)
    period_to = forms.IntegerField(label=_("Period to (year)"), required=False, min_value=0, max_value=3000)
    size = forms.ChoiceField(
        label=_("Size"), required=False,
        choices=[
            ("", _("Any size")),
            ("small", _("Fewer than 1,000 documents")),
            ("medium", _("1,000 to 100,000 documents")),
            ("large", _("100,000 documents or more")),
        ],
    )
    sort = forms.ChoiceField(
        label=_("Sort"), required=False,
        choices=[("newest", _("Newest first")), ("words", _("Largest first (words)"))],
    )
