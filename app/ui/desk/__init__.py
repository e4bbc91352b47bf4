"""The main windows flows: actions and menus, review, the hubs chores, the lock."""
