"""Single sign-on: log in through the company's OpenID Connect provider; teams and roles follow
the provider's groups by rules an admin edits (`GroupRule`), reconciled at every login."""
