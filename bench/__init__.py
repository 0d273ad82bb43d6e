"""The benchmark suite of axon-scim: ``make bench`` (quick) and ``make bench FULL=1``.

Not part of the installed package and never collected by pytest (testpaths
is ``tests/``). ``python -m bench.run`` seeds its own PostgreSQL databases,
serves axon-scim, stock django-scim2 and a bare-Django floor under gunicorn
and drives them from a separate load-generator process. See bench/README.md.
"""
