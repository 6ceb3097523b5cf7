"""One module per specification; every authlib subclass of the project lives here."""
