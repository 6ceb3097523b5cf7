"""The chip citizen ID card (CCCD) as an evidence source: a verified read of the card (ICAO 9303
passive and active authentication, idp/ekyc) reaches acr ``cccd-chip`` as a time-boxed step-up."""
