"""The capacity ledger as placement sees it: each side's capacity, use and what is left.

``hybridhost status`` and ``hybridhost lab status`` print it. :mod:`.model` is pure
(the plan and placement's providers in, a :class:`~.model.Ledger` out: per side and
resource class the capacity, use and room, and where placement and the plan disagree);
:mod:`.placement` reads the providers through openstacksdk; :mod:`.report` prints.
"""
