"""Public data: figures of each corpus on its row, the languages found, and
one record of a release's inputs (ReleaseEntry) instead of two."""

import django.db.models.deletion
from django.db import migrations, models


REVIEWER_EXCLUSIONS = ("document", "flag", "personal_data", "exact_duplicate", "near_duplicate")


def corpus_figures(apps, schema_editor):
    Corpus = apps.get_model("contributions", "Corpus")
    AnalysisRun = apps.get_model("contributions", "AnalysisRun")
    CorpusLanguage = apps.get_model("contributions", "CorpusLanguage")
    for corpus in Corpus.objects.all().iterator():
        run = (
            AnalysisRun.objects.filter(corpus=corpus, corpus_version=corpus.version, status="done")
            .order_by("-id").first()
        )
        if run is None:
            continue
        report = run.report or {}
        corpus.documents = report.get("documents", 0)
        corpus.words = report.get("words", 0)
        corpus.characters = report.get("characters", 0)
        corpus.save(update_fields=["documents", "words", "characters"])
        CorpusLanguage.objects.bulk_create(
            CorpusLanguage(corpus=corpus, language=share["language"], documents=share["documents"])
            for share in report.get("languages", [])
        )


def release_entries(apps, schema_editor):
    Release = apps.get_model("contributions", "Release")
    ReleaseEntry = apps.get_model("contributions", "ReleaseEntry")
    TrainingVersion = apps.get_model("contributions", "TrainingVersion")
    for release in Release.objects.all().iterator():
        filters = dict(release.filters or {})
        ids = filters.pop("training_versions", [])
        carried = (release.stats or {}).get("corpora", {})
        for version in TrainingVersion.objects.filter(id__in=ids).select_related("corpus"):
            corpus = version.corpus
            if filters.get("licenses") and corpus.license not in filters["licenses"]:
                continue
            if filters.get("domains") and corpus.domain not in filters["domains"]:
                continue
            figures = carried.get(str(corpus.id), {})
            excluded = version.excluded or {}
            ReleaseEntry.objects.create(
                release=release, corpus=corpus, training_version=version,
                documents=figures.get("documents", 0), words=figures.get("words", 0),
                excluded=sum(excluded.get(k, 0) for k in REVIEWER_EXCLUSIONS),
                duplicates=excluded.get("accepted_duplicate", 0),
            )
        release.filters = filters
        release.save(update_fields=["filters"])


class Migration(migrations.Migration):

    dependencies = [
        ('contributions', '0005_jobs'),
    ]

    operations = [
        migrations.AddField(
            model_name='corpus',
            name='characters',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='corpus',
            name='documents',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='corpus',
            name='words',
            field=models.BigIntegerField(default=0),
        ),
        migrations.CreateModel(
            name='ReleaseEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('documents', models.BigIntegerField(default=0)),
                ('words', models.BigIntegerField(default=0)),
                ('excluded', models.BigIntegerField(default=0)),
                ('duplicates', models.BigIntegerField(default=0)),
                ('filtered', models.BigIntegerField(default=0)),
                ('masked', models.BigIntegerField(default=0)),
                ('corpus', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='release_entries', to='contributions.corpus')),
                ('release', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='contributions.release')),
                ('training_version', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contributions.trainingversion')),
            ],
            options={
                'ordering': ['release', 'corpus_id'],
            },
        ),
        migrations.AddConstraint(
            model_name='releaseentry',
            constraint=models.UniqueConstraint(fields=('release', 'corpus'), name='one_entry_per_corpus'),
        ),
        # A many-to-many field cannot gain a ``through`` model in place.
        migrations.RemoveField(model_name='release', name='corpora'),
        migrations.AddField(
            model_name='release',
            name='corpora',
            field=models.ManyToManyField(blank=True, related_name='releases', through='contributions.ReleaseEntry', to='contributions.corpus'),
        ),
        migrations.CreateModel(
            name='CorpusLanguage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('language', models.CharField(max_length=16)),
                ('documents', models.BigIntegerField(default=0)),
                ('corpus', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='detected_languages', to='contributions.corpus')),
            ],
            options={
                'ordering': ['-documents', 'language'],
                'indexes': [models.Index(fields=['language', 'corpus'], name='contributio_languag_9d11c9_idx')],
                'constraints': [models.UniqueConstraint(fields=('corpus', 'language'), name='one_share_per_language')],
            },
        ),
        migrations.RunPython(corpus_figures, migrations.RunPython.noop),
        migrations.RunPython(release_entries, migrations.RunPython.noop),
    ]
