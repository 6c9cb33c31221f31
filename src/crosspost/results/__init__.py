"""Results: what the networks say about the posts crosspost published (`collect`), and the
report the team reads and forwards (`data`, `formats`, `html`)."""
