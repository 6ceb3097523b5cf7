"""People behind identities: the Vietnamese personal ID number, names, and linking every
upstream identity of one person to one local subject."""
