"""Parser models for the events icflow's functions receive, and the shape of the event they publish.

Each shape is defined once here: the functions parse with these models, the template's rules and the
next issue's deploy functions match the "model ready" event's source and detail-type from here.
"""
