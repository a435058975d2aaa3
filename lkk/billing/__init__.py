"""Electricity supply contracts and their binding to cabinets.

Two sides live here. The *registry* side (``registry``, ``importer``, ``codes``) stands
in for the supplier's billing system: contracts, metering points, meters and the
binding codes the supplier's office hands out. The *cabinet* side (``bindings``,
``lockout``) records which cabinet holds which contract. The cabinet side talks to the
registry only through the ``BillingRegistry`` protocol, so a billing HTTP API can
replace the SQL registry later without touching the binding rules.

``models`` holds one family per thing (``…Base``, ``…Create``, ``…Public``, table),
built on the validators of ``identifiers``; ``errors`` the typed refusals of binding.

Unlike ``lkk.store`` (each function one ``lkk.store.transaction``), the cabinet-side
stores work in the caller's transaction and leave the commit to it, except that
``bindings.bind`` and ``lockout`` commit at the lockout rule's fixed points inside one
call, because a counted attempt must be visible to parallel attempts before the code
is checked, which one transaction per function cannot express.
"""
