"""The read-only serving state and the read services the JSON API and the pages call.

``state`` holds one consistent snapshot of the universe, the graph, the champion model and the
scored lead tables (``lead_table``), loaded once and swapped whole on reload; ``leads``,
``enterprises``, ``chains``, ``similar``, ``kpis`` and ``outreach`` answer from it (and, for
the pipeline's part of an answer, read the system of record, ``api.crm``); ``export`` writes
what an officer downloads. Nothing here writes the service database.
"""
