"""The built-in plugins: each module registers its parts through the public hooks, exactly as a
third-party plugin would."""
