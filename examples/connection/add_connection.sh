#!/usr/bin/env bash
# Seed document, "Connection Setup": the block exactly as written. `npm test` runs it in a throwaway
# AIRFLOW_HOME and checks that Airflow stored the connection (login = region, password = token) and that the
# provider's hook reads the region from it.
set -euo pipefail

airflow connections add ovh_ai_training_default \
    --conn-type generic \
    --conn-login gra \
    --conn-password your-ai-token-here
