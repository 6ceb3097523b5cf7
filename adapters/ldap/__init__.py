"""The officials' directory over LDAP (OpenLDAP, Active Directory) with ldap3."""
