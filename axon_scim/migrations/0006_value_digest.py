# Value rows are looked up by a digest of the value, not the value itself: a
# btree entry holds at most about 2.7 KB, and an x509Certificates value is longer.

from django.db import migrations, models
from django.db.models.functions import MD5


def fill_digests(apps, schema_editor):
    # MD5 of value_lower in hex, as axon_scim.models.value_digest computes it
    # (Django provides MD5 on SQLite too), in one statement.
    ScimUserValue = apps.get_model("axon_scim", "ScimUserValue")
    ScimUserValue.objects.using(schema_editor.connection.alias).update(
        value_digest=MD5("value_lower")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('axon_scim', '0005_managed_permissions'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='scimuservalue',
            name='axon_scim_value_lookup',
        ),
        migrations.AddField(
            model_name='scimuservalue',
            name='value_digest',
            field=models.CharField(blank=True, default='', editable=False, max_length=32),
        ),
        migrations.RunPython(fill_digests, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='scimuservalue',
            index=models.Index(fields=['organization', 'attribute', 'value_digest'], name='axon_scim_value_digest'),
        ),
    ]
