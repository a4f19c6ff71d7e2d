"""The in-car assistant: understanding, acting on the vehicle safely, profiles, recommendations."""
