"""The workstation's services, one per concept, over one shared session.

Each method is either local (the cache) or remote (the hub), never both; a flow that
needs both is two calls composed by its caller (app.workstation, app.ui.operations).
"""
