"""The container path: the Docker engine it runs on and the images the project builds for it."""
