"""Care plans, their goals, activities, tasks and monitoring (built on patients)."""
