"""The retail platform: settings, contracts, generator, service clients, the local stack and the CLI."""
