"""The course tree: chapters, solution markers, building stubs, the release bundle, validation."""
