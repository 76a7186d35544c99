"""The policy as data (:mod:`.config`), calendar arithmetic (:mod:`.calendar`) and the pure
rule engine (:mod:`.rules`)."""
