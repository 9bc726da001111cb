#!/usr/bin/env bash
# Deploys every Alexa region from one device cloud (docs/deploying.md, "Every Alexa region"):
# the home stack (Role=home: the tables, the skill, stream, shadow bridge and reconcile
# functions) in HOME_REGION, then a region stack (Role=region: the skill alone, on the home
# tables) in each of REGIONS, in order, stopping at the first failure; then prints what to paste
# into the Alexa developer console's smart home endpoint fields.
#   scripts/deploy-regions.sh [--dry-run] [PARAMETER_FILE]     (make deploy-regions)
# PARAMETER_FILE (default deploy/regions.env; see deploy/regions.example.env) holds lines
# `Name=value`: template parameters, each for the home stack and, when the skill reads it, for
# the region stacks too; `Name@region=value` sets a parameter for the stack of that region alone
# (AlarmTopicArn: an SNS topic serves alarms of its own region only, so it is never carried
# over); and the settings STACK_NAME (alexa-smart-home: every stack's name, one per region),
# HOME_REGION (us-east-1) and REGIONS (the other two of us-east-1, eu-west-1 and us-west-2),
# which variables of the same name in the environment override.
# --dry-run prints every command, with placeholder outputs, and runs none (no AWS, no sam).
# Secret parameters (NoEcho) are never printed: the commands show **** instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# Associative arrays, mapfile: bash 4 (macOS ships 3.2: brew install bash).
if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
  echo "needs bash 4 or later (this is $BASH_VERSION)" >&2
  exit 2
fi

ALEXA_REGIONS=(us-east-1 eu-west-1 us-west-2)
# The parameters the skill reads (the region stack's, beside Role, HomeRegion and the home
# table names), carried over from the home stack's.
SHARED=(SkillId LwaClientId LwaClientSecret LogRetentionDays LogLevel DeviceCloud IotDataEndpoint
  ThingNamePrefix DeviceApiUrl DeviceApiSecret DeviceApiTimeoutMs ConfirmWaitMs AccountLinking
  TokenIssuer TokenAudience TokenUserClaim TokenRequiredScopes JwksUrl UserinfoUrl
  UserinfoUserField)
# Set by this script alone.
RESERVED=(Role HomeRegion HomeDevicesTable HomeTokensTable HomeGrantsTable HomeAlexaViewTable)
# Never printed.
SECRETS=(LwaClientSecret DeviceApiSecret)
# The home stack's outputs a region stack needs: output → parameter.
HOME_OUTPUTS=(DevicesTableName:HomeDevicesTable TokensTableName:HomeTokensTable
  GrantsTableName:HomeGrantsTable AlexaViewTableName:HomeAlexaViewTable)
# The Alexa developer console's endpoint field of each region's skill.
declare -A CONSOLE_FIELD=([us-east-1]="North America" [eu-west-1]="Europe and India"
  [us-west-2]="Far East")

dry_run=false
file=deploy/regions.env
for arg in "$@"; do
  case $arg in
    --dry-run) dry_run=true ;;
    -h | --help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    -*) echo "unknown option $arg (--dry-run, --help)" >&2; exit 2 ;;
    *) file=$arg ;;
  esac
done
[ -f "$file" ] || {
  echo "no parameter file $file: copy deploy/regions.example.env to deploy/regions.env and fill it in" >&2
  exit 2
}

is_in() { # is_in WORD LIST...
  local word=$1 w
  shift
  for w in "$@"; do [ "$w" = "$word" ] && return 0; done
  return 1
}

# The template's parameters: a name in the file must be one of them.
mapfile -t TEMPLATE_PARAMETERS < <(awk '/^Parameters:/{p=1; next} /^[A-Za-z]/{p=0}
  p && /^  [A-Za-z0-9]+:$/ {sub(/^  /, ""); sub(/:$/, ""); print}' template.yaml)

declare -A params=()    # Name → value, for the home stack (and the shared ones for all)
declare -A overrides=() # Name@region → value
declare -A settings=()
line_no=0
while IFS= read -r line || [ -n "$line" ]; do
  line_no=$((line_no + 1))
  [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
  if ! [[ $line =~ ^([A-Za-z][A-Za-z0-9_]*)(@([a-z0-9-]+))?=(.*)$ ]]; then
    echo "$file:$line_no: not Name=value or Name@region=value" >&2
    exit 2
  fi
  name=${BASH_REMATCH[1]} region=${BASH_REMATCH[3]} value=${BASH_REMATCH[4]}
  # One pair of quotes around the whole value is taken off (the file is not run by a shell).
  if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  if is_in "$name" STACK_NAME HOME_REGION REGIONS; then
    [ -z "$region" ] || { echo "$file:$line_no: $name is not set per region" >&2; exit 2; }
    settings[$name]=$value
  elif is_in "$name" "${RESERVED[@]}"; then
    echo "$file:$line_no: $name is set by this script (from the home stack's outputs)" >&2
    exit 2
  elif ! is_in "$name" "${TEMPLATE_PARAMETERS[@]}"; then
    echo "$file:$line_no: $name is not a parameter of template.yaml" >&2
    exit 2
  elif [ -n "$region" ]; then
    is_in "$region" "${ALEXA_REGIONS[@]}" || {
      echo "$file:$line_no: $region is not an Alexa region (${ALEXA_REGIONS[*]})" >&2
      exit 2
    }
    overrides[$name@$region]=$value
  else
    params[$name]=$value
  fi
done <"$file"

STACK_NAME=${STACK_NAME:-${settings[STACK_NAME]:-alexa-smart-home}}
HOME_REGION=${HOME_REGION:-${settings[HOME_REGION]:-us-east-1}}
is_in "$HOME_REGION" "${ALEXA_REGIONS[@]}" || {
  echo "HOME_REGION $HOME_REGION is not an Alexa region (${ALEXA_REGIONS[*]})" >&2
  exit 2
}
default_regions=()
for r in "${ALEXA_REGIONS[@]}"; do [ "$r" = "$HOME_REGION" ] || default_regions+=("$r"); done
read -r -a REGIONS <<<"${REGIONS:-${settings[REGIONS]:-${default_regions[*]}}}"
for r in "${REGIONS[@]}"; do
  is_in "$r" "${default_regions[@]}" || {
    echo "REGIONS: $r is not one of the other Alexa regions (${default_regions[*]})" >&2
    exit 2
  }
done

# A command, printed to stderr (secrets masked) before it runs; in a dry run, printed only.
run() {
  local shown=() arg name
  for arg in "$@"; do
    name=${arg%%=*}
    if [ "$name" != "$arg" ] && is_in "$name" "${SECRETS[@]}"; then
      shown+=("$name=****")
    else
      shown+=("$(printf '%q' "$arg")")
    fi
  done
  echo "+ ${shown[*]}" >&2
  $dry_run || "$@"
}

# Name=value as `sam deploy --parameter-overrides` parses it: a value with a space or a quote,
# or an empty one, in double quotes.
override() {
  local value=$2
  if [ -z "$value" ] || [[ $value =~ [[:space:]\"\'] ]]; then
    value=\"${value//\"/\\\"}\"
  fi
  printf '%s=%s' "$1" "$value"
}

# deploy REGION NAME=VALUE...: the built template as the stack of REGION.
deploy() {
  local region=$1 pair
  shift
  local overrides_args=()
  for pair in "$@"; do overrides_args+=("$(override "${pair%%=*}" "${pair#*=}")"); done
  run sam deploy --region "$region" --stack-name "$STACK_NAME" --capabilities CAPABILITY_IAM \
    --resolve-s3 --no-confirm-changeset --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides_args[@]}"
}

# read_outputs REGION: the stack's outputs into `outputs` (placeholders in a dry run).
declare -A outputs
read_outputs() {
  local region=$1 key value
  outputs=()
  local query='Stacks[0].Outputs[].[OutputKey,OutputValue]'
  if $dry_run; then
    run aws cloudformation describe-stacks --region "$region" --stack-name "$STACK_NAME" \
      --query "$query" --output text
    for key in DevicesTableName TokensTableName GrantsTableName AlexaViewTableName UserPoolId \
      AccountLinkingClientId; do
      outputs[$key]="DRYRUN-$STACK_NAME-$key"
    done
    outputs[SkillFunctionArn]="arn:aws:lambda:$region:000000000000:function:DRYRUN-$STACK_NAME-skill"
    return
  fi
  local listed
  listed=$(run aws cloudformation describe-stacks --region "$region" --stack-name "$STACK_NAME" \
    --query "$query" --output text)
  while IFS=$'\t' read -r key value; do
    [ -n "$key" ] && outputs[$key]=$value
  done <<<"$listed"
}

# pairs REGION home|region NAME=VALUE...: the parameters of REGION's stack, sorted, as NAME=VALUE
# lines: the file's (all for the home stack, the shared ones for a region stack), then that
# region's own (Name@region), then the NAME=VALUE given, each later one winning.
pairs() {
  local region=$1 role=$2 name key pair
  shift 2
  local -A merged=()
  for name in "${!params[@]}"; do
    if [ "$role" = home ] || is_in "$name" "${SHARED[@]}"; then merged[$name]=${params[$name]}; fi
  done
  for key in "${!overrides[@]}"; do
    [ "${key#*@}" = "$region" ] && merged[${key%@*}]=${overrides[$key]}
  done
  for pair in "$@"; do merged[${pair%%=*}]=${pair#*=}; done
  for name in "${!merged[@]}"; do echo "$name=${merged[$name]}"; done | LC_ALL=C sort
}

echo "== sam build (once: every stack deploys the same build)" >&2
run sam build

echo "== home stack $STACK_NAME in $HOME_REGION" >&2
mapfile -t stack < <(pairs "$HOME_REGION" home Role=home)
deploy "$HOME_REGION" "${stack[@]}"
read_outputs "$HOME_REGION"
declare -A arns=([$HOME_REGION]=${outputs[SkillFunctionArn]:-})
from_home=(Role=region "HomeRegion=$HOME_REGION")
for pair in "${HOME_OUTPUTS[@]}"; do
  value=${outputs[${pair%%:*}]:-}
  [ -n "$value" ] || { echo "the home stack has no output ${pair%%:*}: is it Role=home?" >&2; exit 1; }
  from_home+=("${pair#*:}=$value")
done
# The home stack's user pool is the region stacks' authorization server too: their skill
# verifies its tokens (jwt), with the settings the home skill gets for it.
if is_in CreateUserPool=true "${stack[@]}"; then
  pool=${outputs[UserPoolId]:-} client=${outputs[AccountLinkingClientId]:-}
  [ -n "$pool" ] && [ -n "$client" ] || {
    echo "CreateUserPool=true, but the home stack has no output UserPoolId or AccountLinkingClientId" >&2
    exit 1
  }
  from_home+=(AccountLinking=jwt "TokenIssuer=https://cognito-idp.$HOME_REGION.amazonaws.com/$pool"
    "TokenAudience=$client" TokenRequiredScopes=alexa-smart-home/devices JwksUrl=)
fi

for region in "${REGIONS[@]}"; do
  echo "== region stack $STACK_NAME in $region (on the home tables in $HOME_REGION)" >&2
  mapfile -t stack < <(pairs "$region" region "${from_home[@]}")
  deploy "$region" "${stack[@]}"
  read_outputs "$region"
  arns[$region]=${outputs[SkillFunctionArn]:-}
done

echo "== Alexa developer console: the skill, Build, Smart Home, Smart Home service endpoint"
printf '  %-18s %s\n' "Default endpoint:" "${arns[$HOME_REGION]}"
for region in "${ALEXA_REGIONS[@]}"; do
  [ -n "${arns[$region]:-}" ] && printf '  %-18s %s\n' "${CONSOLE_FIELD[$region]}:" "${arns[$region]}"
done
echo "  (check the box of each region that has an ARN; a region without one uses the Default endpoint)"
