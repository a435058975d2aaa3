"""Electricity supply contracts and their binding to cabinets.

Two sides live here. The *registry* side (``registry``, ``importer``, ``codes``) stands
in for the supplier's billing system: contracts, metering points, meters and the
binding codes the supplier's office hands out. The *cabinet* side (``bindings``,
``lockout``) records which cabinet holds which contract. The cabinet side talks to the
registry only through the ``BillingRegistry`` protocol, so a billing HTTP API can
replace the SQL registry later without touching the binding rules.

``models`` holds one family per thing (``…Base``, ``…Create``, ``…Public``, table),
built on the validators of ``identifiers``; ``errors`` the typed refusals of binding.
"""
