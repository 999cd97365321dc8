"""The chart's rollup (models/volume.py): two new tables, nothing else. The rollup is filled by
``officialaccount_rollup``, not here: counting a large message table is not a migration's job."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("officialaccount_webhook", "0013_delivery_search"),
    ]

    operations = [
        migrations.CreateModel(
            name="MessageVolumeState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("time_zone", models.CharField(max_length=64)),
                ("counted_until", models.DateField(null=True)),
                ("scan_from_id", models.BigIntegerField(default=0)),
                ("seen_id", models.BigIntegerField(default=0)),
                ("seen_at", models.DateTimeField(null=True)),
                ("recounted_id", models.BigIntegerField(null=True)),
                ("window_rows", models.BigIntegerField(default=0)),
                ("dirty_days", models.JSONField(default=list)),
                ("generation", models.BigIntegerField(default=0)),
                ("refreshed_at", models.DateTimeField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name="MessageVolume",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sdk_app_id", models.BigIntegerField()),
                ("official_account", models.CharField(max_length=128)),
                ("day", models.DateField()),
                ("count", models.BigIntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["day"], name="officialaccount_volume_day"),
                    models.Index(
                        fields=["official_account", "day"], name="officialaccount_volume_acct"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("sdk_app_id", "official_account", "day"),
                        name="officialaccount_volume_key",
                    )
                ],
            },
        ),
    ]
