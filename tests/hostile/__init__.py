"""The hostile host: axon_scim in a portal that sets every DRF default a portal commonly sets.

Run under its own settings, in a process of its own (``make test`` runs it
after the main suite)::

    pytest --ds=tests.hostile.settings tests/hostile
"""
