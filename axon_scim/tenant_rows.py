"""The base of axon_scim's tenant models: saves and deletes that name the row's organization.

Django updates a saved row ``WHERE id = %s`` and deletes a row's dependents
``WHERE user_id IN (...)``: the id alone, which a database distributed by
organization (Citus) must send to every shard. ``TenantModel`` adds the
row's ``organization_id`` to both, so every statement stays on one shard
(docs/scaling.md; tests/tenancy.py checks the whole suite's statements).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import models, router, transaction
from django.db.models.signals import post_delete, pre_delete

__all__ = ["TenantModel"]


class TenantModel(models.Model):
    """A row of one organization (its subclasses declare ``organization``)."""

    organization_id: Any

    class Meta:
        abstract = True

    def _do_update(
        self,
        base_qs: models.QuerySet[Any],
        using: Any,
        pk_val: Any,
        values: Any,
        update_fields: Any,
        forced_update: Any,
        *args: Any,
    ) -> Any:
        # Model.save() updates through this queryset: scope it to the row's organization.
        scoped = base_qs.filter(organization_id=self.organization_id)
        return super()._do_update(  # type: ignore[misc]
            scoped, using, pk_val, values, update_fields, forced_update, *args
        )

    def delete(self, using: Any = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """Delete the row and what hangs on it, every statement naming the organization.

        The dependents are axon_scim's own tenant rows, none with dependents
        of its own: CASCADE ones are deleted and SET_NULL ones cleared, as
        Django's collector would; ``pre_delete`` and ``post_delete`` are sent
        for this row. Any other shape (a host's model pointing here, a
        many-to-many field) is left to Django's ``delete()``.
        """
        relations = self._meta.related_objects
        if self._meta.many_to_many or not all(map(_scoped, relations)):
            return super().delete(using, keep_parents)
        using = using or router.db_for_write(type(self), instance=self)
        deleted: Counter[str] = Counter()
        with transaction.atomic(using=using, savepoint=False):
            pre_delete.send(type(self), instance=self, using=using, origin=self)
            for relation in relations:
                rows = relation.related_model._base_manager.using(using).filter(
                    organization_id=self.organization_id, **{relation.field.name: self.pk}
                )
                if relation.on_delete is models.SET_NULL:
                    rows.update(**{relation.field.name: None})
                else:  # CASCADE (``_scoped``)
                    deleted[relation.related_model._meta.label] += rows._raw_delete(using)
            own: Any = type(self)._base_manager.using(using)
            mine = own.filter(organization_id=self.organization_id, pk=self.pk)
            deleted[self._meta.label] += mine._raw_delete(using)
            post_delete.send(type(self), instance=self, using=using, origin=self)
        self.pk = None
        counts = {label: count for label, count in deleted.items() if count}
        return sum(counts.values()), counts


def _scoped(relation: Any) -> bool:
    """Whether ``delete`` handles this relation itself: a tenant model, a leaf if deleted."""
    model = relation.related_model
    if not issubclass(model, TenantModel):
        return False
    if relation.on_delete is models.SET_NULL:
        return True
    return relation.on_delete is models.CASCADE and not model._meta.related_objects
