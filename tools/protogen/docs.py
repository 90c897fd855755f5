"""Documentation text for the proto generator.

tools/protogen turns these entries into comments on the generated services, RPCs, messages, fields and
enum values. Keys follow the Telnyx wire names in the reference contract:

- RPCS: "<resource>.<name>" of each endpoint.
- FIELDS: a property's wire name; the default text wherever that name occurs.
- FIELD_OVERRIDES: "<parent property>.<property>" for names whose meaning depends on where they appear.
- EVENTS: webhook event_type.
- ENUM_VALUES: "<property>:<wire value>".

Plain data, standard library only.
"""

RPCS: dict[str, str] = {
    "callControlApplications.list": (
        "Returns one page of the call control applications on the account, optionally filtered and "
        "sorted. Read-only: it changes nothing and sends no webhooks."
    ),
    "callControlApplications.create": (
        "Creates a call control application, the object that ties numbers and SIP traffic to the "
        "webhook URL that receives call events. Requires a name and a webhook URL; no webhooks are "
        "sent by this request itself."
    ),
    "callControlApplications.delete": (
        "Deletes a call control application and returns the record as it was just before removal. "
        "Calls routed through it can no longer be controlled once it is gone."
    ),
    "callControlApplications.retrieve": (
        "Fetches a single call control application by its id, including its inbound, outbound and "
        "webhook settings. Read-only."
    ),
    "callControlApplications.update": (
        "Changes the settings of an existing call control application; the name and webhook URL "
        "must be sent again. The updated record is returned; future calls use the new settings."
    ),
    "callEvents.list": (
        "Lists the command and webhook events Telnyx logged for call legs, filtered by time, leg, "
        "session, connection and more. Useful for debugging a call after the fact; read-only."
    ),
    "calls.dial": (
        "Places an outbound call from a connection to a phone number or SIP URI and returns the new"
        " leg's identifiers at once. Expect call.initiated right away, then call.answered or "
        "call.hangup, plus machine-detection, recording or streaming events when those options are "
        "set."
    ),
    "calls.retrieve_status": (
        "Reports whether a call leg is still alive and how long it has lasted, given its call "
        "control id. Read-only; no webhooks."
    ),
    "calls.actions.start_ai_assistant": (
        "Puts an AI voice assistant on the call, which then listens and answers the caller on its "
        "own. Conversation progress may be reported with call.ai_gather.message_history_updated and"
        " the end with call.conversation.ended."
    ),
    "calls.actions.stop_ai_assistant": (
        "Removes a running AI assistant from the call; the call itself stays up. A "
        "conversation-ended event normally follows."
    ),
    "calls.actions.answer": (
        "Answers an incoming call that is ringing on a call control application, optionally "
        "starting recording, streaming, transcription or an assistant at the same time. Produces "
        "call.answered, and the events of any feature started with it."
    ),
    "calls.actions.bridge": (
        "Connects the audio of this call with another live call (or the next call waiting in a "
        "queue) so both parties hear each other. Both legs receive call.bridged."
    ),
    "calls.actions.update_client_state": (
        "Replaces the client state stored on the call, the opaque value echoed back in every later "
        "webhook for this leg. No webhook is sent for the change itself."
    ),
    "calls.actions.enqueue": (
        "Places the call in a named queue, creating the queue if needed, where it waits to be "
        "bridged. Sends call.enqueued, and call.dequeued when it leaves the queue."
    ),
    "calls.actions.start_forking": (
        "Starts copying the call's raw RTP media to external UDP targets for monitoring or "
        "recording. Sends call.fork.started."
    ),
    "calls.actions.stop_forking": "Stops sending forked media for the call. Sends call.fork.stopped.",
    "calls.actions.gather": (
        "Collects DTMF digits pressed by the caller without playing any prompt. The result arrives "
        "in call.gather.ended; each key also produces call.dtmf.received."
    ),
    "calls.actions.stop_gather": (
        "Cancels any digit or speech gathering running on the call. The gather's ended event is "
        "sent with a cancelled status."
    ),
    "calls.actions.gather_using_ai": (
        "Lets an AI voice assistant hold a short conversation to collect the values described by a "
        "JSON schema (for example a name and a date). Sends call.ai_gather.ended with the collected"
        " result, plus optional partial-result and message-history events."
    ),
    "calls.actions.gather_using_audio": (
        "Plays an audio file or stored media and collects the DTMF digits the caller enters, "
        "replaying an error prompt on invalid input. Sends call.playback.started/ended and finally "
        "call.gather.ended."
    ),
    "calls.actions.gather_using_speak": (
        "Speaks text with text-to-speech and collects the DTMF digits the caller enters, retrying "
        "on invalid input. Sends call.speak.started/ended and finally call.gather.ended."
    ),
    "calls.actions.hangup": (
        "Ends the call leg. Sends call.hangup, and call.recording.saved when a recording was running."
    ),
    "calls.actions.leave_queue": (
        "Takes the call out of the queue it is waiting in, without hanging it up. Sends "
        "call.dequeued with reason leave."
    ),
    "calls.actions.start_playback": (
        "Plays an audio file, stored media or inline audio into the call, optionally looping or "
        "mixing over other audio. Sends call.playback.started and call.playback.ended."
    ),
    "calls.actions.stop_playback": (
        "Stops the current (or every queued) audio playback on the call. The stopped playback "
        "reports call.playback.ended with a cancelled status."
    ),
    "calls.actions.pause_recording": (
        "Temporarily stops writing audio to the active recording; the file continues when recording"
        " is resumed. No separate webhook."
    ),
    "calls.actions.resume_recording": (
        "Continues writing audio to a recording that was paused. No separate webhook."
    ),
    "calls.actions.start_recording": (
        "Starts recording the call in WAV or MP3, mono or stereo, with optional post-call "
        "transcription. When recording ends Telnyx sends call.recording.saved (or "
        "call.recording.error), and call.recording.transcription.saved if transcription was "
        "requested."
    ),
    "calls.actions.stop_recording": (
        "Stops the active recording. Telnyx then stores the file and sends call.recording.saved "
        "with download links."
    ),
    "calls.actions.refer": (
        "Sends a SIP REFER on the call, asking the far end to transfer itself to another SIP "
        "address. Progress arrives as call.refer.started, then call.refer.completed or "
        "call.refer.failed."
    ),
    "calls.actions.reject": (
        "Declines an incoming call before it is answered, with a chosen SIP cause. Sends call.hangup."
    ),
    "calls.actions.send_dtmf": (
        "Sends DTMF tones to the far end of the call, for example to navigate a remote menu. No "
        "webhook beyond the command result."
    ),
    "calls.actions.send_sip_info": (
        "Sends a SIP INFO request with an arbitrary content type and body on the call's dialog. No "
        "webhook beyond the command result."
    ),
    "calls.actions.start_siprec": (
        "Starts a SIPREC session that streams the call's audio and metadata to a configured SIPREC "
        "recording server. Sends siprec.started, or siprec.failed if the session cannot be set up."
    ),
    "calls.actions.stop_siprec": "Ends the SIPREC session on the call. Sends siprec.stopped.",
    "calls.actions.speak": (
        "Reads text or SSML into the call with a text-to-speech voice. Sends call.speak.started and"
        " call.speak.ended."
    ),
    "calls.actions.start_streaming": (
        "Streams the call's audio in real time to a WebSocket (or Dialogflow), optionally accepting"
        " audio back to play into the call. Sends streaming.started, and streaming.stopped or "
        "streaming.failed."
    ),
    "calls.actions.stop_streaming": (
        "Stops one media stream, or all of them, on the call. Sends streaming.stopped."
    ),
    "calls.actions.start_noise_suppression": (
        "Turns on background-noise reduction for the chosen audio direction of the call, using the "
        "selected engine. No separate webhook."
    ),
    "calls.actions.stop_noise_suppression": "Turns off noise suppression on the call. No separate webhook.",
    "calls.actions.switch_supervisor_role": (
        "Changes how a supervising leg takes part in the call it supervises: barge in, whisper to "
        "one side, or only listen. No separate webhook."
    ),
    "calls.actions.start_transcription": (
        "Starts real-time speech-to-text on the call with the chosen engine. Each recognised phrase"
        " arrives as a call.transcription webhook."
    ),
    "calls.actions.stop_transcription": (
        "Stops real-time transcription on the call; call.transcription webhooks stop arriving."
    ),
    "calls.actions.transfer": (
        "Transfers the call to a new destination by dialing it and bridging the two legs once it "
        "answers. The new leg reports call.initiated, call.answered or call.hangup, then "
        "call.bridged on both legs."
    ),
    "calls.actions.add_ai_assistant_messages": (
        "Injects messages (user, assistant, tool, system or developer) into the conversation of the"
        " AI assistant running on the call, optionally prompting it to reply. No separate webhook."
    ),
    "calls.actions.join_ai_assistant": (
        "Adds this call as a participant in an existing AI assistant conversation, identified by "
        "its conversation id. Conversation events follow as for a started assistant."
    ),
    "calls.actions.start_conversation_relay": (
        "Connects the call to your own WebSocket server that receives transcribed speech and "
        "returns text for Telnyx to speak, with Telnyx handling speech recognition and synthesis. "
        "The response carries the relay id; the relay ends with the call or when stopped."
    ),
    "calls.actions.stop_conversation_relay": (
        "Disconnects the conversation relay from the call; the call itself stays up."
    ),
    "calls.actions.pay": (
        "Collects card or bank-account details from the caller by keypad and charges or tokenises "
        "them through a payment connector, so the numbers never reach your application. Progress "
        "arrives as call.payment.progress and the outcome as call.payment.completed."
    ),
    "connections.list_active_calls": (
        "Lists the calls currently in progress on a connection or call control application, one "
        "page at a time. Read-only."
    ),
}

FIELDS: dict[str, str] = {
    "active": "Whether the application is enabled; an inactive application does not take calls.",
    "after_greeting_silence_millis": (
        "Milliseconds of silence after a greeting that mark the greeting as finished, for answering"
        " machine detection."
    ),
    "amount": "Amount to charge, in the major unit of the currency (for example 12.50 for 12 dollars 50).",
    "analyze_sentiment": "When true, Dialogflow also scores the sentiment of what the caller says.",
    "anchorsite_override": (
        'Telnyx media site that anchors the call\'s media; "Latency" picks the closest site to the '
        "first packet, otherwise a fixed city."
    ),
    "answering_machine_detection": (
        "Whether and how to detect an answering machine when the call is answered; results arrive "
        "as call.machine.* webhooks. Off unless set."
    ),
    "answering_machine_detection_config": (
        "Fine-tuning of answering machine detection timings and thresholds; omitted values use "
        "Telnyx defaults."
    ),
    "api_key_ref": (
        "Name of a secret stored in your Telnyx account (not the key itself) holding the API key "
        "for the third-party service used here."
    ),
    "application_name": (
        "Human-readable name of the call control application; in list filters, a condition on that name."
    ),
    "application_session_id": "Identifier of an application session, used to filter events belonging to it.",
    "assistant": (
        "Settings of the AI assistant used on the call: which assistant or model, its instructions,"
        " tools and voice."
    ),
    "assistant_id": "Identifier of the AI assistant that ran the conversation.",
    "attempt": (
        "Attempt number: for payment prompts, which try a prompt text applies to; in payment "
        "progress, how many tries have been made for the current step."
    ),
    "attendee_name": "Name to put on appointments the assistant books.",
    "attendee_timezone": 'IANA time zone of the attendee (for example "Europe/Berlin"), used when booking.',
    "attenuation_limit": (
        "Upper limit on how much the noise suppressor may attenuate, in decibels; higher values "
        "remove more noise."
    ),
    "audio_type": "Format of the audio being played; defaults to mp3.",
    "audio_url": (
        "HTTP(S) URL of an audio file (MP3 or WAV) to play to the callee or caller; Telnyx fetches "
        "it when needed."
    ),
    "authentication_method": (
        "How Telnyx authenticates to your external LLM endpoint: a bearer token or a client certificate."
    ),
    "background_audio": (
        "Audio played quietly behind the assistant's voice, such as office ambience, a media URL or"
        " a stored media file."
    ),
    "bank-account-number": (
        "Prompt text (or per-attempt texts) played when asking the caller for the bank account number."
    ),
    "bank-routing-number": (
        "Prompt text (or per-attempt texts) played when asking the caller for the bank routing number."
    ),
    "bank_account_number": "Bank account number entered by the caller, masked except for the last digits.",
    "bank_account_type": "Type of the bank account used for the payment, such as checking or savings.",
    "bank_routing_number": "Bank routing number entered by the caller.",
    "base_url": (
        "Base URL of an OpenAI-compatible LLM endpoint you host, used instead of a Telnyx-hosted model."
    ),
    "beep_detection_profile": (
        "Which signal to use when listening for the voicemail beep: tone frequency only, or "
        "frequency plus other cues."
    ),
    "beep_enabled": (
        "When a beep plays in the conference: always, never, or only when participants join or leave."
    ),
    "between_words_silence_millis": (
        "Silence between words, in milliseconds, that the detector treats as a gap between two words."
    ),
    "billed_duration_secs": "Duration that was billed, in seconds.",
    "billing_group_id": "Identifier of the billing group the call's charges are assigned to.",
    "body": "Raw body of the SIP INFO message, interpreted according to content_type.",
    "body_parameters": "JSON Schema object describing the JSON body the tool sends to its webhook.",
    "book_appointment": (
        "Settings of the built-in tool that lets the assistant book a meeting in a calendar service."
    ),
    "boost": "How strongly to favour the listed phrases in recognition; higher values bias more.",
    "bridge_intent": (
        "Tells Telnyx that the new call will be bridged to the call in link_to, so both share a "
        "session and billing as one conversation."
    ),
    "bridge_on_answer": (
        "When true, the new call is bridged to the call in link_to as soon as it is answered."
    ),
    "bucket_ids": "Ids of the storage buckets whose embedded documents the assistant may search.",
    "cache_audio": (
        "Whether Telnyx may cache the downloaded audio file for reuse in later playbacks; defaults to true."
    ),
    "call_control_id": (
        "Identifier of one call leg, used to send commands to it; returned by dial and carried in "
        "every webhook for that leg. In a bridge request body it names the other leg to connect "
        "with."
    ),
    "call_cost_in_webhooks": (
        "When true, Telnyx sends a call.cost webhook with the cost of each call after it ends."
    ),
    "call_duration": "Length of the call so far (or in total, if ended), in seconds.",
    "call_leg_id": "Stable identifier of one call leg, also used to correlate the leg's events and records.",
    "call_part": "Part of the call a cost line applies to, for example the call itself or an add-on feature.",
    "call_quality_stats": "Media quality statistics measured on the call, per direction.",
    "call_screening_result": (
        "Outcome of Telnyx call screening for the incoming call, if screening is enabled."
    ),
    "call_session_id": (
        "Identifier shared by all legs that belong to the same call session, such as both sides of a bridge."
    ),
    "caller_id_name": "Caller name (CNAM) presented with the incoming call, when available.",
    "calling_party_type": "Whether the other party was reached over the phone network (pstn) or over SIP.",
    "card_type": (
        "Card brand that a prompt text applies to; the text is used only when the caller's card is "
        "of that brand."
    ),
    "cause": "SIP reason given when rejecting the call.",
    "certificate_ref": (
        "Name of a stored client certificate used to authenticate to your LLM endpoint when the "
        "certificate method is chosen."
    ),
    "channel_limit": (
        "Maximum number of simultaneous calls allowed in this direction; unset means no limit of its own."
    ),
    "channels": "Mono (single) or stereo (dual, one party per channel) recording.",
    "charge_id": "Identifier of the charge created by the payment connector.",
    "check_availability": (
        "Settings of the built-in tool that lets the assistant look up free slots in a calendar service."
    ),
    "client_state": (
        "Opaque value you attach to a command, Base64-encoded; Telnyx echoes it in later webhooks "
        "for the leg so you can keep state without a database."
    ),
    "command_id": (
        "Idempotency key for the command: Telnyx ignores a second command with the same id on the "
        "same call. voicesvc fills it with a UUID when empty."
    ),
    "conference_config": (
        "Joins the new call to a conference when it is answered, with these participant and "
        "conference settings."
    ),
    "conference_name": "Name of the conference to join; created if no conference with this name exists.",
    "confidence": "How sure the recogniser is about the text, from 0 (guess) to 1 (certain).",
    "connection_codecs": "Codecs enabled on the Telnyx connection, comma separated.",
    "connection_id": (
        "Identifier of the connection or call control application the call belongs to; for dial, "
        "the one to place the call from."
    ),
    "connector_error": (
        "Error reported by the payment connector, as text or as the provider's structured error."
    ),
    "connector_name": (
        "Name of the connector configured in the Telnyx portal to use: a payment connector for pay,"
        " a SIPREC server for siprec."
    ),
    "consistency": "How consistent the deepfake verdict was across the analysed audio, from 0 to 1.",
    "contains": "Matches values that contain this text.",
    "content": "Text of a message in the conversation.",
    "content_type": "MIME type of the SIP INFO body, for example application/dtmf-relay or application/json.",
    "conversation_id": "Identifier of the AI assistant conversation on the call.",
    "conversation_relay_config": (
        "Settings that connect the answered or dialled call to your conversation relay WebSocket server."
    ),
    "conversation_relay_dtmf_detection": "When true, keypad presses are forwarded to the relay server.",
    "conversation_relay_id": "Identifier of the conversation relay session that was started.",
    "conversation_relay_settings": (
        "Settings of the conversation relay: the WebSocket URL, languages, voice and interruption behaviour."
    ),
    "conversation_relay_url": "WebSocket URL of your conversation relay server.",
    "cost": "Cost of this part of the call, as a decimal string.",
    "cost_parts": "Breakdown of the call's cost into its separate parts.",
    "created_at": "When the record was created, as an ISO 8601 timestamp.",
    "currency": "Currency code (ISO 4217) of an amount, for example USD.",
    "current_position": "Position of the call in the queue; 1 is the next call to be served.",
    "custom_file_name": "File name to give the recording, without extension.",
    "custom_headers": (
        "Extra SIP headers (name and value pairs) sent with the request or received with the call; "
        "names usually start with X-."
    ),
    "custom_parameters": (
        "Extra name/value parameters passed to your stream or relay server at connection time."
    ),
    "data": "The returned object, as wrapped by the Telnyx response envelope.",
    "deepfake_detection": (
        "Turns on detection of synthetic (AI-generated) voices on the call; the verdict arrives as "
        "call.deepfake_detection.* webhooks."
    ),
    "delivered_to": "URL the webhook was delivered to.",
    "delivery_mode": "How much variation the Inworld voice may use: STABLE, BALANCED or CREATIVE.",
    "deployment_id": "Id of a custom voice deployment in your Azure Speech resource.",
    "description": (
        "Free text description; for tools, what the tool does, which the model reads to decide when"
        " to use it."
    ),
    "dialogflow_config": "Options for the Dialogflow integration of the stream.",
    "digit": "The DTMF key that was pressed (0-9, *, #, A-D).",
    "digits": (
        "DTMF digits: the string to send (0-9, *, #, A-D, with w for a 0.5 s and W for a 1 s "
        "pause), or the digits collected by a gather."
    ),
    "direction": (
        "Direction of the call or audio: for calls whether it was received or placed; for noise "
        "suppression which audio to clean (defaults to inbound)."
    ),
    "dtmf_detection": "When true, keypad presses on the call are reported to the relay server.",
    "dtmf_type": (
        "How DTMF digits are signalled on calls of this application: RFC 2833 telephone events, "
        "in-band tones, or SIP INFO. Defaults to RFC 2833."
    ),
    "duration_millis": "Length of each DTMF tone in milliseconds, 100 to 500; 250 when omitted.",
    "duration_sec": "Length of the conversation in seconds.",
    "dynamic_variables": (
        "Values substituted into the assistant's instructions and greeting placeholders for this "
        "call, keyed by variable name."
    ),
    "early_media": "Whether to pass ringback and announcements from the far end to the caller before answer.",
    "effect": "Audio effect applied to the Azure voice, such as a car or telephone equaliser.",
    "enable": "Whether the caller may interrupt the assistant while it is speaking.",
    "enable_dialogflow": (
        "When true, the call audio is sent to the Dialogflow agent configured on the account."
    ),
    "enable_endpoint_detection": (
        "When true, the engine detects the end of each utterance and finalises the text quickly."
    ),
    "enable_speaker_diarization": "When true, the engine labels which speaker said each phrase.",
    "enabled": "Whether the feature is switched on.",
    "end_conference_on_exit": "When true, the conference ends for everyone when this participant leaves.",
    "end_time": "When the call ended, as an ISO 8601 timestamp; empty while it is still up.",
    "enhancement_level": "How strongly speech is enhanced by the noise suppressor, from 0 to 1.",
    "eq": "Matches times equal to this ISO 8601 timestamp.",
    "error_message": "Why deepfake detection could not finish.",
    "error_type": (
        "Kind of input error: in payment progress the error the caller made, in prompts the error a"
        " prompt text should be played after."
    ),
    "event_timestamp": "When the event happened, as an ISO 8601 timestamp.",
    "event_type": "Name of the webhook event, such as call.answered; tells how to read the payload.",
    "event_type_id": "Id of the meeting type in the calendar service to book or check.",
    "expiration-date": (
        "Prompt text (or per-attempt texts) played when asking the caller for the card expiry date."
    ),
    "expiration_date": "Card expiry date entered by the caller, as MMYY.",
    "expressive_mode": "When true, the voice adds more natural intonation and emotion.",
    "external_llm": "Connection to a language model you host yourself, used instead of a Telnyx-hosted one.",
    "failed": "Whether to list only events that failed (true) or only those that succeeded (false).",
    "failure_cause": "Why the SIPREC session failed.",
    "failure_reason": "Why the media stream failed, in words.",
    "fallback_config": "Model to switch to when the primary model fails or times out.",
    "family": "Model family of the AiCoustics noise suppressor.",
    "filter": "Conditions that narrow the list; all given conditions must match.",
    "first_command_timeout": (
        "When true, an incoming call is hung up if your application sends no command within "
        "first_command_timeout_secs."
    ),
    "first_command_timeout_secs": (
        "Seconds Telnyx waits for the first command on a new call before giving up on it; 30 by default."
    ),
    "format": "Audio file format: wav or mp3.",
    "forward_metadata": "When true, call details are forwarded to your LLM endpoint along with each request.",
    "from": (
        "Calling party number (E.164, such as +18005550101) or SIP URI; for dial and transfer, the "
        "caller ID to present."
    ),
    "from_display_name": "Caller name shown to the callee, up to 128 characters; defaults to the number.",
    "function": "The function the model asks to call.",
    "gather_ended_speech": (
        "Text the assistant says when it has finished collecting the information, before handing "
        "the call back."
    ),
    "gather_id": "Your identifier for this gather, echoed in its webhooks so you can tell gathers apart.",
    "gender": "Voice gender used when picking an Azure voice.",
    "greeting": "First thing the assistant or relay says when it starts.",
    "greeting_duration_millis": (
        "Longest greeting, in milliseconds, that is still taken as a human; longer ones indicate a machine."
    ),
    "greeting_silence_duration_millis": (
        "Silence, in milliseconds, that marks the end of a machine greeting when waiting for it to finish."
    ),
    "greeting_total_analysis_time_millis": (
        "Total time, in milliseconds, to keep listening for the end of a machine greeting."
    ),
    "gt": "Matches times strictly after this ISO 8601 timestamp.",
    "gte": "Matches times at or after this ISO 8601 timestamp.",
    "hangup": "Settings of the built-in tool that lets the assistant end the call.",
    "hangup_cause": "Why the call or session ended, such as normal_clearing, user_busy or timeout.",
    "hangup_source": "Which side ended the call: the caller, the callee, or unknown.",
    "headers": "HTTP headers (name and value pairs) to send with each webhook tool request.",
    "hints": "Words or phrases the recogniser should expect, improving their accuracy.",
    "hold": "When true, the participant joins the conference on hold and hears hold audio.",
    "hold_after_unbridge": (
        "When true, the call is put on hold after the bridge with the other leg ends instead of "
        "staying parked silently."
    ),
    "hold_audio_url": "URL of an audio file played to a participant while on hold.",
    "hold_media_name": "Name of stored media played to a participant while on hold.",
    "id": (
        "Unique identifier of the object it appears in (event, application, assistant, conference, "
        "participant or tool call)."
    ),
    "inbound": "Settings or statistics for the inbound direction (calls or media coming in).",
    "include_metadata_custom_headers": (
        "Whether the call's custom SIP headers are included in the SIPREC metadata."
    ),
    "initial_silence_millis": (
        "Silence allowed before anyone speaks, in milliseconds; exceeding it suggests a machine."
    ),
    "initial_timeout_millis": (
        "Milliseconds to wait for the first digit before the gather ends with a timeout; 5000 by default."
    ),
    "insight_group_id": "Identifier of the group of insights that was computed.",
    "insight_id": "Identifier of the insight this result belongs to.",
    "instructions": "System prompt that tells the assistant how to behave and what to do.",
    "inter_digit_timeout_millis": (
        "Milliseconds allowed between two digits before input is considered complete; 5000 by default."
    ),
    "interim_results": "When true, preliminary text is delivered before a phrase is final.",
    "interruptible": "What may interrupt spoken output: none, any input, speech only, or DTMF only.",
    "interruptible_greeting": "What may interrupt the greeting: none, any input, speech only, or DTMF only.",
    "interruption_settings": (
        "Controls whether and how the caller can interrupt the assistant while it speaks."
    ),
    "invalid_audio_url": "URL of audio played when the caller's input is invalid, before asking again.",
    "invalid_media_name": (
        "Name of stored media played when the caller's input is invalid, before asking again."
    ),
    "invalid_payload": "Text spoken when the caller's input is invalid, before asking again.",
    "is_alive": "Whether the call leg is still up.",
    "is_final": "Whether this text is final (true) or may still change (false).",
    "jitter_max_variance": "Largest jitter variance measured on incoming media.",
    "jitter_packet_count": "Number of incoming packets affected by jitter.",
    "keep_after_hangup": (
        "When true, the queue entry remains after the call hangs up instead of being removed."
    ),
    "keyterms": "Key terms the recogniser should listen for and spell correctly.",
    "keywords_boosting": "Words mapped to a boost weight; positive values make the recogniser favour them.",
    "language": "Language of the speech, text or voice, as a language code such as en-US.",
    "language_boost": "Language the MiniMax voice should favour when reading text.",
    "languages": "Languages the relay can use, each with its own recognition and voice settings.",
    "leg_id": "Identifier of a call leg to filter events by.",
    "link_to": (
        "Call control id of an existing call to associate the new call with, so they share a call session."
    ),
    "llm_api_key_ref": "Name of a stored secret holding the API key for the language model provider.",
    "llm_model": "Language model used in the conversation.",
    "loop": (
        'How many times to play the audio: a number, or "infinity" to repeat until stopped; once by default.'
    ),
    "lt": "Matches times strictly before this ISO 8601 timestamp.",
    "lte": "Matches times at or before this ISO 8601 timestamp.",
    "max_attempts": (
        "How many tries the caller gets for each payment detail before the payment fails; 1 to 3."
    ),
    "max_endpoint_delay_ms": (
        "Longest delay, in milliseconds, the engine may wait before deciding an utterance has ended."
    ),
    "max_length": "Longest recording allowed, in seconds, 0 to 14400; 0 means no limit.",
    "max_num_results": "Largest number of document passages returned per search.",
    "max_size": "Largest number of calls the queue may hold; 100 by default.",
    "max_speaker_count": "Largest number of speakers to tell apart.",
    "max_wait_time_secs": "Longest time, in seconds, the call may wait in the queue before it is removed.",
    "maximum_digits": "Largest number of digits to collect; 128 by default.",
    "maximum_number_of_words": "Word count at or above which the greeting is taken to come from a machine.",
    "maximum_tries": "How many times the prompt is played before the gather gives up; 3 by default.",
    "maximum_word_length_millis": (
        "Longest single word, in milliseconds, expected from a human; longer ones suggest a machine."
    ),
    "mcp_servers": "Model Context Protocol servers the assistant may call tools on.",
    "media_encryption": "Encryption of the call's media: none, SRTP or DTLS-SRTP.",
    "media_name": "Name of an audio file uploaded to Telnyx media storage, used instead of a URL.",
    "media_url": "URL of the audio being played.",
    "message_history": (
        "Conversation turns so far, oldest first; in requests, earlier turns to seed the assistant with."
    ),
    "messages": "Messages to add to the assistant's conversation.",
    "meta": "Paging information of a list response, or delivery details of a webhook.",
    "metadata": "Free-form key/value data attached to the object.",
    "method": "HTTP method the webhook tool uses.",
    "min_speaker_count": "Smallest number of speakers to tell apart.",
    "minimum_digits": "Fewest digits that count as a complete entry; 1 by default.",
    "mode": "Processing mode of the noise suppression engine.",
    "model": "Model to use, named by its provider's id.",
    "mos": "Mean opinion score of the incoming audio, 1 (bad) to 5 (excellent).",
    "mp3": "Link to the recording in MP3 format.",
    "mute": "When true, the participant joins the conference muted.",
    "mute_dtmf": "Which parties stop hearing DTMF tones during the bridge or transfer.",
    "name": (
        "Name of the object it appears in, such as a logged event, a header, a parameter, a "
        "participant, an assistant or a function."
    ),
    "noise_suppression_engine": "Which engine removes background noise; Denoiser by default.",
    "noise_suppression_engine_config": "Engine-specific tuning of noise suppression.",
    "observability_settings": (
        "Settings for exporting traces of the assistant's activity to an observability service."
    ),
    "occurred_at": (
        "When the event happened, as an ISO 8601 timestamp; in filters, a range condition on that time."
    ),
    "octaves": "Pitch shift in octaves; positive raises, negative lowers.",
    "offered_codecs": "Codecs offered by the caller in the SIP invitation, comma separated.",
    "on_hangup": "What happens to the conversation when this participant hangs up: it goes on or ends.",
    "openai_api_key_ref": "Name of a stored secret holding your OpenAI API key, for OpenAI models.",
    "outbound": "Settings or statistics for the outbound direction (calls or media going out).",
    "outbound.outbound_voice_profile_id": "Matches applications that use this outbound voice profile.",
    "outbound_voice_profile_id": (
        "Identifier of the outbound voice profile that sets rates and permissions for calls placed "
        "by the application."
    ),
    "overlay": (
        "Marks an overlay playback, one mixed over other audio instead of queued after it; in stop "
        "commands, stops the overlay playback rather than the main one."
    ),
    "packet_count": "Number of RTP packets counted.",
    "page[number]": "Which page of results to return, starting at 1.",
    "page[size]": "How many items one page holds, 1 to 250; 20 by default.",
    "page_number": "Number of the page returned.",
    "page_size": "Number of items per page.",
    "parameters": (
        "JSON Schema object describing the values to collect, or connector-specific extra "
        "parameters for a payment."
    ),
    "park_after_unbridge": (
        'What happens to this leg when the bridge ends: "self" keeps it parked and under your '
        "control instead of hanging it up."
    ),
    "partial_automated_agent_reply": (
        "When true, Dialogflow may return partial replies before the caller finishes speaking."
    ),
    "partial_results": "Values collected so far, keyed by the parameter names of the gather schema.",
    "participant": "The call leg to add to the conversation and how it takes part.",
    "participants": "Call legs that take part in the assistant conversation and their roles.",
    "path_parameters": "JSON Schema object describing the URL path placeholders of the webhook tool.",
    "pay_error_code": "Error code returned by the payment processor when the payment failed.",
    "payload": (
        "For webhooks, the event-specific details; for speak commands, the text or SSML to say (up "
        "to 3,000 characters)."
    ),
    "payload_type": "Whether the payload is plain text or SSML markup; text by default.",
    "payment-card-number": (
        "Prompt text (or per-attempt texts) played when asking the caller for the card number."
    ),
    "payment_card_number": "Card number entered by the caller, masked except for the last digits.",
    "payment_card_postal_code": "Postal code entered by the caller for the card.",
    "payment_card_type": "Brand of the card the caller entered.",
    "payment_confirmation_code": (
        "Confirmation code returned by the payment processor for a successful payment."
    ),
    "payment_connector": "Name of the payment connector that handled the payment.",
    "payment_error": "Description of the payment error, when the payment failed.",
    "payment_method": "Whether payment is taken by credit card or by ACH bank debit.",
    "payment_status": "State of the payment at this point: processing, completed or failed.",
    "payment_step": "Which detail is being collected now, or payment-processing once all are in.",
    "payment_token": (
        "Token of a card already stored with the payment connector, used instead of asking the "
        "caller for details."
    ),
    "phrases": "Phrases to favour during recognition.",
    "pitch": (
        "Pitch adjustment of the voice; for the MiniMax voice an integer step, for sound "
        "modifications a multiplier or shift."
    ),
    "play_beep": "When true, a beep is played when recording starts.",
    "play_ringtone": "When true, the caller hears a ringback tone until the bridge completes.",
    "playback_content": (
        "Audio to play given inline as Base64-encoded MP3 or WAV data, instead of a URL or media name."
    ),
    "postal-code": (
        "Prompt text (or per-attempt texts) played when asking the caller for the card's postal code."
    ),
    "precision": "Sample precision of Resemble audio: PCM 16, 24 or 32 bit, or mu-law.",
    "preferred_codecs": (
        "Codecs to offer for the call, in order of preference, comma separated (for example "
        "G722,PCMU,PCMA,G729,OPUS,VP8,H264)."
    ),
    "prevent_double_bridge": (
        "When true, the command fails if the target call is already bridged to another call."
    ),
    "privacy": "Whether to hide the caller ID from the callee (id) or not (none).",
    "product": "Telnyx product the events belong to: call control, fax or TeXML.",
    "profanity_filter": "When true, profanity is masked in the transcript.",
    "prompts": "Custom text spoken at each step of a payment, replacing the default prompts.",
    "properties": "Map from parameter name to its JSON Schema definition.",
    "provider": "Speech provider used by the relay for speech or voice.",
    "public_recording_urls": (
        "Links to the recording that stay valid without signing, when public access is enabled."
    ),
    "query_parameters": "JSON Schema object describing the query string parameters of the webhook tool.",
    "queue": (
        "Name of a queue: where the call waits, or (in bridge) the queue whose first call to bridge with."
    ),
    "queue_avg_wait_time_secs": "Average time, in seconds, calls wait in this queue.",
    "queue_name": "Name of the queue to put the call in; created if it does not exist.",
    "queue_position": "Position the call had in the queue when it left it.",
    "rate": "Price per billing unit used for this part of the call.",
    "reason": (
        "Why the event happened, for example why the call left a queue, why a conversation ended or"
        " why a recording failed."
    ),
    "record": "Start recording the call when it is answered; the only value is record-from-answer.",
    "record_channels": (
        "Records both parties on one channel (single) or each on its own channel (dual); dual by default."
    ),
    "record_custom_file_name": "File name for the recording, without extension.",
    "record_format": "File format of the recording; mp3 by default.",
    "record_max_length": "Longest recording in seconds, 0 to 14400; 0 means no limit.",
    "record_timeout_secs": (
        "Seconds of silence after which recording stops; 0 means it never stops for silence."
    ),
    "record_track": (
        "Which audio to record: both directions, only what the caller sends (inbound), or only what"
        " is sent to the caller (outbound)."
    ),
    "record_trim": "Remove silence from the start and end of the recording.",
    "record_type": "Kind of object the record describes, such as call, event or call_control_application.",
    "recording_ended_at": "When the recording stopped, as an ISO 8601 timestamp.",
    "recording_id": (
        "Identifier of a recording on the call; when omitted, the command acts on the current recording."
    ),
    "recording_started_at": "When the recording started, as an ISO 8601 timestamp.",
    "recording_track": "Which audio to record: both, inbound only or outbound only; both by default.",
    "recording_transcription_id": "Identifier of the recording's transcription.",
    "recording_urls": "Time-limited links to download the recording in each format.",
    "redact_dtmf_debug_logging": (
        "When true, DTMF digits are masked in Telnyx debug logs, to keep sensitive input such as "
        "card numbers out of them."
    ),
    "region": "Cloud region of the provider's service to use, such as an Azure region.",
    "required": "Names of the parameters that must be present.",
    "result": 'Outcome of the command or detection; for commands "ok" when Telnyx accepted it.',
    "results": "Insight results, one per configured insight.",
    "retries_ms": "Delays between webhook delivery retries, in milliseconds, one entry per retry.",
    "retrieval": "Settings of the built-in tool that lets the assistant search your uploaded documents.",
    "retry_on_timeout": (
        "When true, Telnyx tries placing the call again if the first attempt gets no response from "
        "the destination before timing out."
    ),
    "ringtone": (
        "Country whose ringback tone is played while the bridge completes, as a two-letter code; us"
        " by default."
    ),
    "role": (
        "Role of a message author or conversation participant; in switch_supervisor_role, the "
        "supervisor's new role (barge, whisper or monitor)."
    ),
    "route_to_mobile": (
        "When true, calls to numbers linked to the Telnyx mobile SIM may reach the device directly."
    ),
    "rtp_timeout": "Seconds without media after which deepfake detection gives up.",
    "rx": "Target for the audio the call receives, as udp:host:port.",
    "sample_rate": "Sample rate of Resemble audio, in hertz.",
    "score": "Probability, from 0 to 1, that the voice is synthetic.",
    "secure": "Whether the SIPREC session is encrypted (TLS signalling and SRTP media).",
    "security-code": (
        "Prompt text (or per-attempt texts) played when asking the caller for the card security code."
    ),
    "security_code": "Card security code entered by the caller, masked.",
    "semitone": "Pitch shift in semitones; positive raises, negative lowers.",
    "send_digits_on_answer": (
        "DTMF digits to send automatically once the call is answered, such as an extension."
    ),
    "send_message_history_updates": (
        "When true, call.ai_gather.message_history_updated webhooks report each new turn."
    ),
    "send_partial_results": (
        "When true, call.ai_gather.partial_results webhooks report values as they are collected."
    ),
    "send_silence_when_idle": (
        "When true, Telnyx sends silent audio while nothing is playing, which keeps some far ends "
        "from dropping an idle call."
    ),
    "service_level": "Quality tier of the text-to-speech voice (basic or premium) or of the payment service.",
    "session_timeout_secs": "SIP session timer of the SIPREC session, in seconds.",
    "shaken_stir_attestation": "STIR/SHAKEN attestation level of the incoming call: A, B or C.",
    "shaken_stir_enabled": (
        "When true, incoming calls are checked with STIR/SHAKEN and the result reported in call.initiated."
    ),
    "shaken_stir_validated": "Whether the STIR/SHAKEN signature of the incoming call was valid.",
    "silence_threshold": (
        "Audio energy level below which sound counts as silence, on a 0 to 32767 scale; 256 by default."
    ),
    "similarity_boost": "How closely the voice must stick to the original speaker, from 0 to 1.",
    "sip_address": "SIP URI the far end should transfer to.",
    "sip_auth_password": "Password for SIP digest authentication when the destination challenges the call.",
    "sip_auth_username": "User name for SIP digest authentication when the destination challenges the call.",
    "sip_hangup_cause": "SIP response code that ended the call, as text.",
    "sip_headers": (
        "Standard SIP headers (such as User-to-User) sent with the request or received with the "
        "call, as name and value pairs."
    ),
    "sip_notify_response": "SIP status code reported by the far end in its NOTIFY about the transfer.",
    "sip_region": "Region of the Telnyx SIP proxy that handles the call.",
    "sip_subdomain": "Subdomain of sip.telnyx.com that routes SIP calls to this application.",
    "sip_subdomain_receive_settings": "Who may call the SIP subdomain: only your own connections, or anyone.",
    "sip_transport": "Transport protocol for the SIPREC signalling; udp by default.",
    "sip_transport_protocol": (
        "Transport protocol for SIP signalling towards a SIP URI destination; UDP by default."
    ),
    "siprec_track": "Which audio is sent to the SIPREC server; both tracks by default.",
    "size": "Model size of the noise suppression engine; larger ones clean better but cost more processing.",
    "skip_packet_count": "Number of RTP packets skipped or lost.",
    "smart_format": "When true, numbers, dates and punctuation are formatted in the transcript.",
    "soft_end_conference_on_exit": (
        "When true, the conference ends once this participant leaves and the current audio finishes."
    ),
    "sort": "Field to order the results by.",
    "sound_modifications": "Changes to the pitch of the call audio, for example for voice disguise.",
    "speech_context": "Groups of phrases to favour in recognition, each with a boost.",
    "speech_model": "Speech recognition model for this language.",
    "speed": "Speaking rate of the voice; 1 is normal speed.",
    "start_conference_on_create": (
        "Whether the conference starts as soon as it is created, rather than when a participant "
        "with start_conference_on_enter joins."
    ),
    "start_conference_on_enter": (
        "When true, the conference starts when this participant joins; before that, others hear hold audio."
    ),
    "start_time": "When the call started, as an ISO 8601 timestamp.",
    "state": "State of the call leg when the event was sent.",
    "status": "Status of the object or outcome of the operation; the values depend on where it appears.",
    "status_detail": "Extra detail explaining the playback status.",
    "stop": (
        "Which audio to stop: current (the one playing) or all (also the queued ones); in start "
        "commands, stops that audio first."
    ),
    "stream_auth_token": (
        "Token sent to your WebSocket server when the stream connects, so it can authenticate Telnyx."
    ),
    "stream_bidirectional_codec": "Codec of the audio your server sends back into the call; PCMU by default.",
    "stream_bidirectional_mode": (
        "How audio sent back over the stream is framed: mp3 files or raw RTP payloads; mp3 by default."
    ),
    "stream_bidirectional_sampling_rate": (
        "Sample rate, in hertz, of the audio your server sends back; 8000 by default."
    ),
    "stream_bidirectional_target_legs": "Which legs hear the audio your server sends back.",
    "stream_codec": "Codec of the audio Telnyx streams to your server; default keeps the call's own codec.",
    "stream_establish_before_call_originate": (
        "When true, the media stream is connected before the outbound call is placed, so no early "
        "audio is missed."
    ),
    "stream_id": "Identifier of a media stream; when stopping, omit to stop all streams.",
    "stream_params": "Parameters of the stream that failed.",
    "stream_track": (
        "Which audio is streamed: inbound (from the caller), outbound, or both; inbound_track by default."
    ),
    "stream_type": (
        "Kind of stream: for forking raw or decrypted media; for streaming websocket or dialogflow."
    ),
    "stream_url": "WebSocket URL (wss://) that receives the call's audio.",
    "structured_provider": "Provider-specific settings passed to the relay as a structured object.",
    "stt_model": "Speech-to-text model used in the conversation.",
    "style": "How much of the original speaker's style the voice exaggerates, from 0 to 1.",
    "supervise_call_control_id": "Call control id of the call that the new call supervises.",
    "supervisor_role": (
        "How the supervising leg takes part: barge (talks to both), whisper (talks to one side "
        "only), monitor (listens only)."
    ),
    "suppression_level": "Strength of the noise suppression, from 0 to 1.",
    "tags": "Labels attached to the object, used for grouping and reporting.",
    "target_leg_client_state": "Client state to set on the new leg created by the transfer.",
    "target_legs": (
        "Which legs hear the audio: self (this leg), opposite (the bridged leg) or both; self by default."
    ),
    "targets": "Destinations the assistant may transfer to, as a list of named numbers or a single value.",
    "temperature": "Randomness of the voice delivery; higher values vary more.",
    "terminating_digit": "Key that ends input early; # by default.",
    "text": "Words spoken for this prompt.",
    "time_limit_secs": (
        "Longest the call may last, in seconds, after which it is hung up; 30 to 14400, 14400 by default."
    ),
    "timeout": "Seconds deepfake detection keeps listening before reporting a timeout.",
    "timeout_millis": "Milliseconds allowed for the whole input before it times out; 60000 by default.",
    "timeout_secs": (
        "For dial and transfer, seconds to ring before giving up (30 by default, 5 to 600); for "
        "recording, seconds of silence before it stops (0 = never)."
    ),
    "to": "Destination number (E.164) or SIP URI; for dial it may be a list, and the first to answer wins.",
    "token_id": "Token returned by the connector that stands for the captured card or account.",
    "token_retrieval_url": "URL from which Telnyx obtains an access token for your LLM endpoint.",
    "tool_call_id": "Id of the tool call that this message answers.",
    "tool_calls": "Tool calls the assistant requested in this message.",
    "tools": "Tools the assistant may use during the conversation, such as transfer, hang up or webhooks.",
    "total_analysis_time_millis": (
        "Longest time, in milliseconds, spent deciding between human and machine; 3500 by default."
    ),
    "total_cost": "Total cost of the call, as a decimal string.",
    "total_pages": "Number of pages available at the current page size.",
    "total_results": "Number of items across all pages.",
    "track": "Which audio the setting or stream applies to: inbound, outbound or both.",
    "transaction_type": "Whether to charge the payment now or only create a reusable token.",
    "transcript": "Recognised text.",
    "transcription": (
        "Speech recognition settings: true to turn on live transcription, or the engine, model and "
        "language the assistant or relay uses to hear the caller."
    ),
    "transcription_config": "Settings of the live transcription started with the call.",
    "transcription_data": "Recognised speech and its details.",
    "transcription_engine": "Speech recognition engine to use.",
    "transcription_engine_config": (
        "Engine-specific transcription settings; the fields allowed depend on the chosen engine."
    ),
    "transcription_language": "Language of the recording, used for its transcription.",
    "transcription_max_speaker_count": "Largest number of speakers the recording transcription tells apart.",
    "transcription_min_speaker_count": "Smallest number of speakers the recording transcription tells apart.",
    "transcription_model": "Speech recognition model of the engine, named by its provider's id.",
    "transcription_profanity_filter": "When true, profanity is masked in the recording transcription.",
    "transcription_provider": "Speech recognition provider for this language.",
    "transcription_speaker_diarization": "When true, the recording transcription labels who said what.",
    "transcription_text": "Text of the recording's transcription.",
    "transcription_track": "Which side of the call was transcribed: inbound or outbound.",
    "transcription_tracks": "Which audio is transcribed: inbound, outbound or both; inbound by default.",
    "transfer": "Settings of the built-in tool that lets the assistant transfer the call.",
    "trigger_response": "When true, the assistant replies right after the messages are added.",
    "trim": "Remove silence from the start and end of the recording.",
    "tts_model_id": "Text-to-speech model used in the conversation.",
    "tts_provider": "Text-to-speech provider used for spoken output.",
    "tts_voice_id": "Text-to-speech voice used in the conversation.",
    "tx": "Target for the audio the call sends, as udp:host:port.",
    "type": "Kind of the object; where several shapes are possible it selects which one is meant.",
    "updated_at": "When the record was last changed, as an ISO 8601 timestamp.",
    "url": "Address that is called: a WebSocket URL for a relay, an HTTP URL for a tool.",
    "use_enhanced": "When true, Google's enhanced model is used if one exists for the language.",
    "use_speaker_boost": (
        "When true, the voice is made to sound more like the original speaker, at some latency cost."
    ),
    "user_response_timeout_ms": (
        "Milliseconds to wait for the caller to answer before the assistant prompts again."
    ),
    "utterance_end_ms": "Silence, in milliseconds, after which the engine treats the utterance as ended.",
    "valid_card_types": "Card brands accepted; other brands are rejected.",
    "valid_digits": "Keys that count as input; others are ignored. 0123456789#* by default.",
    "value": "Value of the header or parameter named next to it.",
    "video_room_context": "Context passed to the video room when bridging into it.",
    "video_room_id": "Id of a Telnyx video room to bridge the call into.",
    "voice": (
        "Text-to-speech voice, for example female, male, Polly.Joanna, Telnyx.KokoroTTS.af or an "
        "ElevenLabs or Azure voice id."
    ),
    "voice_gain": "Gain applied to the voice after noise suppression.",
    "voice_settings": "Voice provider settings; the shape depends on the provider of the chosen voice.",
    "voice_speed": "Speaking rate of the Telnyx voice; 1 is normal speed.",
    "vol": "Volume of the MiniMax voice.",
    "volume": "Volume of the background audio.",
    "wait_time_secs": "How long the call waited in the queue, in seconds.",
    "wav": "Link to the recording in WAV format.",
    "webhook": "Settings of a tool that calls your HTTP endpoint.",
    "webhook_api_version": (
        "Version of the webhook format sent to the application's URL; 1 by default, 2 for the current format."
    ),
    "webhook_event_failover_url": "URL that receives webhooks when the primary URL fails.",
    "webhook_event_url": "URL that receives the webhooks of calls handled by this application.",
    "webhook_retries_policies": "Retry schedule for webhook delivery, keyed by event type.",
    "webhook_timeout_secs": "Seconds Telnyx waits for your webhook endpoint to answer, 0 to 30.",
    "webhook_url": "URL that receives the webhooks of this call instead of the application's URL.",
    "webhook_url_method": "HTTP method for webhook_url; POST by default.",
    "webhook_urls": "Extra URLs that receive webhooks of this call, keyed by event type.",
    "webhook_urls_method": "HTTP method for webhook_urls; POST by default.",
    "welcome_greeting_interruptible": (
        "What may interrupt the welcome greeting: none, any input, speech only, or DTMF only."
    ),
    "whisper_call_control_ids": "Call control ids of the participants a whispering supervisor is heard by.",
}

FIELD_OVERRIDES: dict[str, str] = {
    "assistant.greeting": "First sentence the assistant says when it joins the call.",
    "assistant.id": "Identifier of the AI assistant (configured in the Telnyx portal) to run on the call.",
    "assistant.llm_api_key_ref": (
        "Name of the stored secret holding the API key of the language model provider."
    ),
    "assistant.model": "Language model the assistant uses, for example an OpenAI or open-weights model id.",
    "assistant.name": "Display name of the assistant.",
    "assistant.voice_settings": "Voice of the assistant and its provider-specific tuning.",
    "background_audio.type": (
        "Where the background audio comes from: a built-in sound, a media URL, or a stored media name."
    ),
    "background_audio.value": (
        "What to play: the built-in sound name, the media URL, or the stored media name, depending on type."
    ),
    "bank-account-number.attempt": "Attempt number this prompt text is used for.",
    "bank-account-number.error_type": "Input error after which this prompt text is played.",
    "bank-routing-number.attempt": "Attempt number this prompt text is used for.",
    "bank-routing-number.error_type": "Input error after which this prompt text is played.",
    "body_parameters.properties": "Map from body field name to its JSON Schema definition.",
    "body_parameters.required": "Names of the body fields that must be sent.",
    "body_parameters.type": "JSON Schema type of the request body; always object.",
    "book_appointment.api_key_ref": "Name of the stored secret holding the calendar service API key.",
    "call_quality_stats.inbound": "Quality figures for media received by Telnyx on the call.",
    "call_quality_stats.outbound": "Quality figures for media sent by Telnyx on the call.",
    "check_availability.api_key_ref": "Name of the stored secret holding the calendar service API key.",
    "conference_config.early_media": (
        "When true, the caller hears the conference before the call is answered."
    ),
    "conference_config.id": (
        "Identifier of an existing conference to join; use either this or conference_name."
    ),
    "conference_config.supervisor_role": (
        "How this participant supervises the conference: barge, whisper, monitor or none."
    ),
    "conversation_relay_config.custom_parameters": (
        "Extra values sent to your relay server when it connects, keyed by name."
    ),
    "conversation_relay_config.dtmf_detection": (
        "When true, keypad presses are forwarded to your relay server."
    ),
    "conversation_relay_config.greeting": "Text the relay speaks when the call connects.",
    "conversation_relay_config.interruptible": (
        "What may interrupt the relay's spoken output: none, any, speech or dtmf."
    ),
    "conversation_relay_config.interruptible_greeting": (
        "What may interrupt the relay's greeting: none, any, speech or dtmf."
    ),
    "conversation_relay_config.interruption_settings": (
        "Fine control of when the caller may interrupt the relay."
    ),
    "conversation_relay_config.language": (
        "Default language of the relay's speech recognition and voice, such as en-US."
    ),
    "conversation_relay_config.languages": (
        "Languages the relay can switch between, each with its own recognition and voice settings."
    ),
    "conversation_relay_config.provider": "Provider the relay uses for speech and voice.",
    "conversation_relay_config.structured_provider": (
        "Provider-specific settings of the relay, as a structured object."
    ),
    "conversation_relay_config.transcription_engine": "Speech recognition engine the relay uses.",
    "conversation_relay_config.transcription_engine_config": (
        "Engine-specific recognition settings of the relay."
    ),
    "conversation_relay_config.tts_provider": "Text-to-speech provider the relay uses.",
    "conversation_relay_config.url": "WebSocket URL of your conversation relay server.",
    "conversation_relay_config.voice": "Text-to-speech voice the relay speaks with.",
    "conversation_relay_config.voice_settings": "Voice provider settings of the relay's spoken output.",
    "conversation_relay_settings.dtmf_detection": (
        "When true, keypad presses are forwarded to your relay server."
    ),
    "conversation_relay_settings.interruptible": (
        "What may interrupt the relay's spoken output: none, any, speech or dtmf."
    ),
    "conversation_relay_settings.interruptible_greeting": (
        "What may interrupt the relay's greeting: none, any, speech or dtmf."
    ),
    "conversation_relay_settings.languages": (
        "Languages the relay can switch between, each with its own recognition and voice settings."
    ),
    "conversation_relay_settings.url": "WebSocket URL of your conversation relay server.",
    "cost_parts.billed_duration_secs": "Seconds billed for this part of the call.",
    "cost_parts.currency": "Currency of this cost line, for example USD.",
    "custom_headers.name": "Name of the SIP header, for example X-Customer-Id.",
    "custom_headers.value": "Value of the SIP header.",
    "custom_parameters.name": "Name of the parameter passed to the stream server.",
    "custom_parameters.value": "Value of the parameter passed to the stream server.",
    "data.call_control_id": "Identifier of the call leg, used to send commands to it.",
    "data.client_state": "Client state currently stored on the call.",
    "data.conversation_id": "Identifier of the assistant conversation that was started or joined.",
    "data.id": (
        "Identifier Telnyx assigned to the call control application; use it to fetch, update or delete it."
    ),
    "data.inbound": "Settings for calls coming into the application.",
    "data.outbound": "Settings for calls the application places.",
    "data.record_type": "Kind of object returned.",
    "data.recording_id": "Identifier of the recording started by the command.",
    "data.result": (
        'Outcome of the command; "ok" means Telnyx accepted it. What happens next is reported by webhooks.'
    ),
    "data.start_time": "When the call started, as an ISO 8601 timestamp.",
    "data.tags": "Labels attached to the application.",
    "deepfake_detection.enabled": "Whether deepfake detection runs on the call.",
    "expiration-date.attempt": "Attempt number this prompt text is used for.",
    "expiration-date.error_type": "Input error after which this prompt text is played.",
    "external_llm.llm_api_key_ref": (
        "Name of the stored secret holding the API key sent to your LLM endpoint."
    ),
    "external_llm.model": "Model name to request from your own LLM endpoint.",
    "fallback_config.external_llm": "Self-hosted model endpoint to switch to when the primary model fails.",
    "fallback_config.llm_api_key_ref": (
        "Name of the stored secret holding the API key of the fallback model's provider."
    ),
    "fallback_config.model": "Language model to switch to when the primary one fails.",
    "filter.application_name": "Condition on the application's name.",
    "filter.connection_id": "Matches events of calls on this connection.",
    "filter.from": "Matches events whose calling number is this value.",
    "filter.leg_id": "Matches events of this call leg.",
    "filter.name": "Matches events with this name, for example a command or webhook name.",
    "filter.occurred_at": "Time range condition on when the event happened.",
    "filter.status": "Matches events whose processing is in this state.",
    "filter.to": "Matches events whose called number is this value.",
    "filter.type": "Matches events of this kind: commands you sent or webhooks Telnyx sent.",
    "function.name": "Name of the function the model wants to run.",
    "hangup.description": "Tells the model when it should end the call.",
    "headers.name": "Name of the HTTP header sent to the tool's endpoint.",
    "headers.value": "Value of the HTTP header; may reference a stored secret.",
    "inbound.channel_limit": "Maximum number of simultaneous incoming calls to the application.",
    "inbound.packet_count": "Number of RTP packets received.",
    "inbound.skip_packet_count": "Number of incoming RTP packets lost or skipped.",
    "interruption_settings.enable": "Whether the caller may talk over and interrupt the assistant.",
    "interruption_settings.interruptible": (
        "What may interrupt the relay's spoken output: none, any, speech or dtmf."
    ),
    "interruption_settings.interruptible_greeting": (
        "What may interrupt the relay's greeting: none, any, speech or dtmf."
    ),
    "languages.language": "Language code this entry configures, such as en-US.",
    "languages.transcription_engine": "Speech recognition engine used for this language.",
    "languages.transcription_engine_config": "Engine-specific recognition settings for this language.",
    "languages.tts_provider": "Text-to-speech provider used for this language.",
    "languages.voice": "Text-to-speech voice used for this language.",
    "languages.voice_settings": "Voice provider settings used for this language.",
    "message_history.content": "Text of this turn of the conversation.",
    "message_history.metadata": "Free-form data attached to this turn.",
    "message_history.role": (
        "Who produced this turn: the caller (user), the assistant, a tool, or a system or developer"
        " instruction."
    ),
    "messages.content": "Text of the message to add.",
    "messages.metadata": "Free-form data attached to the message.",
    "messages.role": "Who the added message comes from: user, assistant, tool, system or developer.",
    "noise_suppression_engine_config.model": "Krisp model file to use for noise suppression.",
    "outbound.channel_limit": "Maximum number of simultaneous outgoing calls from the application.",
    "outbound.packet_count": "Number of RTP packets sent.",
    "outbound.skip_packet_count": "Number of outgoing RTP packets lost or skipped.",
    "participant.id": "Call control id of the call leg that joins the conversation.",
    "participant.name": "Display name of the joining participant.",
    "participant.role": "Role of the joining leg in the conversation; currently always user.",
    "participants.id": "Call control id of a call leg taking part in the conversation.",
    "participants.name": "Display name of the participant.",
    "participants.role": "Role of the leg in the conversation; currently always user.",
    "path_parameters.properties": "Map from path placeholder name to its JSON Schema definition.",
    "path_parameters.required": "Names of the path placeholders that must be filled.",
    "path_parameters.type": "JSON Schema type of the path parameters; always object.",
    "payload.attempt": "How many times the caller has tried the current payment step.",
    "payload.billed_duration_secs": "Total seconds billed for the call.",
    "payload.call_control_id": (
        "Identifier of the call leg the event concerns; send commands to it with this id."
    ),
    "payload.channels": "Whether the recording is mono (single) or has one channel per party (dual).",
    "payload.client_state": "Client state last set on the call, echoed back as sent (Base64).",
    "payload.connection_id": "Connection or call control application the call belongs to.",
    "payload.conversation_id": "Identifier of the assistant conversation.",
    "payload.custom_headers": "Custom SIP headers that came with the call.",
    "payload.digits": "Digits the caller entered, in order.",
    "payload.direction": "Whether the call was received by Telnyx (incoming) or placed by it (outgoing).",
    "payload.error_type": (
        "Input error the caller made at this step, such as an invalid card number or a timeout."
    ),
    "payload.from": "Number or SIP URI of the calling party.",
    "payload.hangup_cause": "Why the call or session ended.",
    "payload.media_name": "Name of the stored media being played.",
    "payload.message_history": "Conversation turns so far, oldest first.",
    "payload.occurred_at": "When the cost was calculated, as an ISO 8601 timestamp.",
    "payload.overlay": "Whether the playback was mixed over other audio.",
    "payload.payment_method": "Payment method the caller used.",
    "payload.queue": "Name of the queue.",
    "payload.reason": "Why the event happened.",
    "payload.recording_id": "Identifier of the recording that was transcribed.",
    "payload.result": (
        "Outcome reported by the event: the detection verdict, the payment outcome, or the values "
        "an AI gather collected."
    ),
    "payload.sip_headers": "Standard SIP headers that came with the call.",
    "payload.start_time": "When the call started, as an ISO 8601 timestamp.",
    "payload.status": (
        "Outcome or state reported by the event, such as completed, cancelled or invalid; the "
        "possible values depend on the event."
    ),
    "payload.stream_id": "Identifier of the media stream.",
    "payload.stream_type": "Kind of stream the event refers to.",
    "payload.stream_url": "URL of the media stream.",
    "payload.tags": "Labels attached to the call when it was created.",
    "payload.to": "Number or SIP URI of the called party.",
    "payload.tts_provider": "Text-to-speech provider used in the conversation.",
    "payment-card-number.attempt": "Attempt number this prompt text is used for.",
    "payment-card-number.error_type": "Input error after which this prompt text is played.",
    "postal-code.attempt": "Attempt number this prompt text is used for.",
    "postal-code.error_type": "Input error after which this prompt text is played.",
    "public_recording_urls.mp3": "Public link to the MP3 recording.",
    "public_recording_urls.wav": "Public link to the WAV recording.",
    "query_parameters.properties": "Map from query parameter name to its JSON Schema definition.",
    "query_parameters.required": "Names of the query parameters that must be sent.",
    "query_parameters.type": "JSON Schema type of the query parameters; always object.",
    "recording_urls.mp3": "Time-limited link to download the MP3 recording.",
    "recording_urls.wav": "Time-limited link to download the WAV recording.",
    "results.result": (
        "Value of the insight: plain text or a structured object, depending on how the insight is defined."
    ),
    "security-code.attempt": "Attempt number this prompt text is used for.",
    "security-code.error_type": "Input error after which this prompt text is played.",
    "sip_headers.name": (
        "Name of the SIP header; only the listed standard headers (such as User-to-User) are allowed."
    ),
    "sip_headers.value": "Value of the SIP header.",
    "sound_modifications.pitch": "Pitch multiplier for the call audio; 1 leaves it unchanged.",
    "sound_modifications.track": "Which audio is modified: inbound, outbound or both.",
    "stream_params.stream_url": "URL of the stream that failed.",
    "stream_params.track": "Which audio the failed stream carried.",
    "targets.name": "Label of the destination, which the assistant uses to pick it.",
    "targets.to": "Number or SIP URI the assistant may transfer to.",
    "tool_calls.id": "Identifier of this tool call; a later tool message refers to it in tool_call_id.",
    "tool_calls.type": "Kind of tool call; always function.",
    "tools.type": "Which kind of tool this entry defines; names the field that holds the tool's settings.",
    "transcription.language": "Language the caller is expected to speak, such as en.",
    "transcription.model": "Speech-to-text model the assistant uses to hear the caller.",
    "transcription_config.client_state": (
        "Client state echoed in the call.transcription webhooks of this transcription."
    ),
    "transcription_config.command_id": "Idempotency key for starting the transcription.",
    "transcription_config.transcription_engine": (
        "Engine used for the live transcription started with the call."
    ),
    "transcription_config.transcription_engine_config": (
        "Engine-specific settings of the live transcription; the fields allowed depend on the engine."
    ),
    "transcription_config.transcription_tracks": "Which audio is transcribed: inbound, outbound or both.",
    "transcription_engine_config.api_key_ref": (
        "Name of the stored secret holding your Azure Speech key, to use your own resource."
    ),
    "transcription_engine_config.language": (
        "Language of the audio to transcribe; the allowed codes depend on the engine."
    ),
    "transcription_engine_config.model": (
        "Google recognition model tuned for a kind of audio, such as phone_call or latest_long."
    ),
    "transcription_engine_config.region": "Azure region of the speech service to use.",
    "transcription_engine_config.transcription_engine": (
        "Engine these settings are for; selects which other fields apply."
    ),
    "transfer.from": "Caller ID presented when the assistant transfers the call.",
    "voice_settings.api_key_ref": (
        "Name of the stored secret holding the voice provider's API key, to use your own account."
    ),
    "voice_settings.format": "Audio format Resemble returns.",
    "voice_settings.language": "Language the xAI voice speaks.",
    "voice_settings.pitch": "Pitch adjustment of the MiniMax voice, in steps; 0 leaves it unchanged.",
    "voice_settings.region": "Azure region of the speech service that hosts the voice.",
    "voice_settings.type": "Voice provider these settings are for; selects which other fields apply.",
    "voice_settings.voice": (
        "Text-to-speech voice the assistant speaks with, for example Telnyx.KokoroTTS.af."
    ),
    "webhook.description": "Tells the model what the tool does and when to call it.",
    "webhook.name": "Name of the tool as the model sees it; use a short identifier.",
    "webhook.url": "HTTP URL the tool calls; may contain placeholders for path parameters.",
}

EVENTS: dict[str, str] = {
    "call.ai_gather.ended": (
        "Sent when an AI gather finishes; the payload holds the collected values (result), whether "
        "they are valid, and the conversation history."
    ),
    "call.ai_gather.message_history_updated": (
        "Sent during an AI gather or assistant conversation each time a turn is added; the payload "
        "carries the conversation so far."
    ),
    "call.ai_gather.partial_results": (
        "Sent during an AI gather when partial results were requested; the payload carries the "
        "values collected so far and the conversation history."
    ),
    "call.answered": (
        "Sent when a call leg is answered, whether by the called party on an outbound dial or by "
        "your answer command; carries the start time, SIP headers and tags."
    ),
    "call.bridged": (
        "Sent to each leg when two calls are connected to each other by a bridge or a completed transfer."
    ),
    "call.conversation.ended": (
        "Sent when an AI assistant conversation on the call ends; tells the reason, duration and "
        "which language, speech and voice models were used."
    ),
    "call.conversation_insights.generated": (
        "Sent after an assistant conversation once the configured insights have been computed; each"
        " result names its insight and holds its value."
    ),
    "call.cost": (
        "Sent after the call ends with the amount it cost, in total and broken down by call part, "
        "when cost reporting is enabled on the application."
    ),
    "call.deepfake_detection.error": (
        "Sent when deepfake detection on the call could not produce a verdict; the payload names "
        "the problem (timeout, no media, service error)."
    ),
    "call.deepfake_detection.result": (
        "Sent when deepfake detection has analysed the caller's voice; tells whether it sounds real"
        " or synthetic, with a score and a consistency measure."
    ),
    "call.dtmf.received": (
        "Sent for every DTMF key the far end presses on the call; the payload names the digit."
    ),
    "call.enqueued": (
        "Sent when the call is placed in a queue; tells the queue name, the call's position and the"
        " average wait."
    ),
    "call.fork.started": "Sent when media forking begins on the call.",
    "call.fork.stopped": "Sent when media forking on the call ends.",
    "call.gather.ended": (
        "Sent when a digit gather finishes; carries the digits collected and the status (valid, "
        "invalid, timeout, cancelled, hung up)."
    ),
    "call.hangup": (
        "Sent when the call leg ends, for any reason; tells the cause, which side hung up, the SIP "
        "cause and media quality statistics."
    ),
    "call.hold": "Sent when the call is put on hold.",
    "call.initiated": (
        "Sent when a call leg is created: for an incoming call (which then waits for your answer or"
        " reject) or right after a dial; carries direction, caller details, codecs and STIR/SHAKEN "
        "verification."
    ),
    "call.dequeued": (
        "Sent when the call leaves a queue; tells why (bridged, left, hung up, timed out), its last"
        " position and how long it waited."
    ),
    "call.machine.detection.ended": (
        "Sent when standard answering machine detection decides whether a human or a machine answered."
    ),
    "call.machine.greeting.ended": (
        "Sent when the answering machine greeting finishes or its beep is heard, after detection "
        "found a machine; the moment to start leaving a message."
    ),
    "call.machine.premium.detection.ended": (
        "Sent when premium answering machine detection reaches a verdict, with finer categories "
        "such as residential or business human, silence or fax."
    ),
    "call.machine.premium.greeting.ended": (
        "Sent when premium detection hears the voicemail beep, or concludes that none will come."
    ),
    "call.payment.completed": (
        "Sent when a pay command finishes; carries the outcome, masked payment details, and the "
        "charge or token id returned by the connector."
    ),
    "call.payment.progress": (
        "Sent as a pay command moves through its steps; tells which detail is being collected, how "
        "many attempts were made and any input error."
    ),
    "call.playback.ended": (
        "Sent when an audio playback ends, finished or not; the status tells whether it completed, "
        "was stopped, or failed."
    ),
    "call.playback.started": "Sent when an audio playback begins on the call.",
    "call.recording.error": (
        "Sent when a recording could not be stored, for example because the custom storage "
        "credentials were rejected."
    ),
    "call.recording.saved": (
        "Sent when a recording has been stored; carries download links for the file and when "
        "recording started and ended."
    ),
    "call.recording.transcription.saved": (
        "Sent when the transcription of a finished recording is ready; carries the text."
    ),
    "call.refer.completed": (
        "Sent when a SIP REFER sent on the call succeeded; carries the SIP status from the far end's NOTIFY."
    ),
    "call.refer.failed": (
        "Sent when a SIP REFER sent on the call failed; carries the SIP status from the far end's NOTIFY."
    ),
    "call.refer.started": (
        "Sent when a SIP REFER sent on the call has been accepted and the transfer is underway."
    ),
    "siprec.failed": "Sent when a SIPREC session could not be set up or broke; tells the cause.",
    "siprec.started": "Sent when a SIPREC session to the recording server is up.",
    "siprec.stopped": "Sent when the SIPREC session ends; tells the hangup cause of the session.",
    "call.speak.ended": (
        "Sent when text-to-speech playback ends; the status tells whether it completed or was cut short."
    ),
    "call.speak.started": "Sent when text-to-speech playback begins on the call.",
    "streaming.failed": (
        "Sent when a media stream could not be opened or broke; tells the reason and which stream "
        "(URL, track, type)."
    ),
    "streaming.started": "Sent when a media stream to the given URL is established.",
    "streaming.stopped": "Sent when a media stream to the given URL has ended.",
    "call.unhold": "Sent when the call is taken off hold.",
    "call.transcription": (
        "Sent for each piece of recognised speech during real-time transcription; carries the text,"
        " confidence, track and whether it is final."
    ),
}

ENUM_VALUES: dict[str, str] = {
    "anchorsite_override:Latency": "Pick the media site with the lowest latency to the call.",
    "anchorsite_override:Chicago, IL": "Anchor media in Chicago, Illinois.",
    "anchorsite_override:Ashburn, VA": "Anchor media in Ashburn, Virginia.",
    "anchorsite_override:San Jose, CA": "Anchor media in San Jose, California.",
    "anchorsite_override:London, UK": "Anchor media in London, United Kingdom.",
    "anchorsite_override:Chennai, IN": "Anchor media in Chennai, India.",
    "anchorsite_override:Amsterdam, Netherlands": "Anchor media in Amsterdam, Netherlands.",
    "anchorsite_override:Toronto, Canada": "Anchor media in Toronto, Canada.",
    "anchorsite_override:Sydney, Australia": "Anchor media in Sydney, Australia.",
    "answering_machine_detection:premium": (
        "Premium detection with finer verdicts (residential, business, silence, fax)."
    ),
    "answering_machine_detection:detect": "Decide whether a human or a machine answered.",
    "answering_machine_detection:detect_beep": (
        "Detect a human or machine and also wait for the voicemail beep."
    ),
    "answering_machine_detection:detect_words": (
        "Detect a human or machine, basing the verdict on the words heard."
    ),
    "answering_machine_detection:greeting_end": "Detect a machine and report when its greeting has ended.",
    "answering_machine_detection:disabled": "No answering machine detection.",
    "audio_type:mp3": "The audio is MP3.",
    "audio_type:wav": "The audio is WAV.",
    "authentication_method:token": "Authenticate with a bearer token.",
    "authentication_method:certificate": "Authenticate with a client certificate.",
    "beep_detection_profile:both": "Use tone frequency together with other cues to detect the beep.",
    "beep_detection_profile:freq_only": "Use only the tone frequency to detect the beep.",
    "beep_enabled:always": "Beep whenever someone joins or leaves.",
    "beep_enabled:never": "Never beep.",
    "beep_enabled:on_enter": "Beep only when someone joins.",
    "beep_enabled:on_exit": "Beep only when someone leaves.",
    "calling_party_type:pstn": "The other party was on the phone network.",
    "calling_party_type:sip": "The other party was a SIP endpoint.",
    "card_type:visa": "Visa.",
    "card_type:mastercard": "Mastercard.",
    "card_type:amex": "American Express.",
    "card_type:optima": "American Express Optima.",
    "card_type:discover": "Discover.",
    "card_type:diners-club": "Diners Club.",
    "card_type:jcb": "JCB.",
    "card_type:maestro": "Maestro.",
    "card_type:enroute": "enRoute.",
    "cause:CALL_REJECTED": "Reject as declined by the callee.",
    "cause:USER_BUSY": "Reject as busy.",
    "channels:single": "Both parties mixed into one channel.",
    "channels:dual": "Each party on its own channel (stereo).",
    "currency:USD": "US dollars.",
    "currency:usd": "US dollars (lower-case form).",
    "delivery_mode:STABLE": "Consistent, predictable delivery.",
    "delivery_mode:BALANCED": "Balance between consistency and expressiveness.",
    "delivery_mode:CREATIVE": "More varied and expressive delivery.",
    "direction:inbound": "Incoming audio (from the caller).",
    "direction:outbound": "Outgoing audio (towards the caller).",
    "direction:both": "Audio in both directions.",
    "direction:incoming": "The call came in to Telnyx.",
    "direction:outgoing": "The call was placed by Telnyx.",
    "dtmf_type:RFC 2833": "Digits sent as RTP telephone events (RFC 2833).",
    "dtmf_type:Inband": "Digits sent as audio tones inside the media.",
    "dtmf_type:SIP INFO": "Digits sent as SIP INFO messages.",
    "effect:eq_car": "Equaliser tuned for car speakers.",
    "effect:eq_telecomhp8k": "Equaliser tuned for 8 kHz telephone audio.",
    "error_message:detection_timeout": "No verdict was reached in time.",
    "error_message:rtp_timeout": "No media arrived to analyse.",
    "error_message:dfd_connection_error": "The detection service could not be reached.",
    "error_message:dfd_stream_error": "The audio stream to the detection service broke.",
    "error_type:timeout": "The caller did not enter anything in time.",
    "error_type:invalid-card-number": "The card number is not valid.",
    "error_type:invalid-card-type": "The card brand is not accepted.",
    "error_type:invalid-date": "The expiry date is not valid.",
    "error_type:invalid-security-code": "The security code is not valid.",
    "error_type:invalid-postal-code": "The postal code is not valid.",
    "error_type:invalid-bank-routing-number": "The bank routing number is not valid.",
    "error_type:invalid-bank-account-number": "The bank account number is not valid.",
    "error_type:input-matching-failed": "The input did not match what was expected.",
    "event_type:call.ai_gather.ended": "An AI gather finished.",
    "event_type:call.ai_gather.message_history_updated": "The AI conversation gained a turn.",
    "event_type:call.ai_gather.partial_results": "An AI gather collected some values.",
    "event_type:call.answered": "The call was answered.",
    "event_type:call.bridged": "The call was bridged to another.",
    "event_type:call.conversation.ended": "An assistant conversation ended.",
    "event_type:call.conversation_insights.generated": "Conversation insights are ready.",
    "event_type:call.cost": "The call's cost is known.",
    "event_type:call.deepfake_detection.error": "Deepfake detection failed.",
    "event_type:call.deepfake_detection.result": "Deepfake detection reached a verdict.",
    "event_type:call.dtmf.received": "A DTMF key was pressed.",
    "event_type:call.enqueued": "The call entered a queue.",
    "event_type:call.fork.started": "Media forking started.",
    "event_type:call.fork.stopped": "Media forking stopped.",
    "event_type:call.gather.ended": "A digit gather finished.",
    "event_type:call.hangup": "The call ended.",
    "event_type:call.hold": "The call was put on hold.",
    "event_type:call.initiated": "A call leg was created.",
    "event_type:call.dequeued": "The call left a queue.",
    "event_type:call.machine.detection.ended": "Answering machine detection finished.",
    "event_type:call.machine.greeting.ended": "The machine greeting ended.",
    "event_type:call.machine.premium.detection.ended": "Premium machine detection finished.",
    "event_type:call.machine.premium.greeting.ended": "Premium detection finished listening for the beep.",
    "event_type:call.payment.completed": "A payment finished.",
    "event_type:call.payment.progress": "A payment moved to another step.",
    "event_type:call.playback.ended": "An audio playback ended.",
    "event_type:call.playback.started": "An audio playback started.",
    "event_type:call.recording.error": "A recording could not be saved.",
    "event_type:call.recording.saved": "A recording was saved.",
    "event_type:call.recording.transcription.saved": "A recording transcription was saved.",
    "event_type:call.refer.completed": "A SIP REFER succeeded.",
    "event_type:call.refer.failed": "A SIP REFER failed.",
    "event_type:call.refer.started": "A SIP REFER is underway.",
    "event_type:siprec.failed": "A SIPREC session failed.",
    "event_type:siprec.started": "A SIPREC session started.",
    "event_type:siprec.stopped": "A SIPREC session stopped.",
    "event_type:call.speak.ended": "Text-to-speech ended.",
    "event_type:call.speak.started": "Text-to-speech started.",
    "event_type:streaming.failed": "A media stream failed.",
    "event_type:streaming.started": "A media stream started.",
    "event_type:streaming.stopped": "A media stream stopped.",
    "event_type:call.unhold": "The call was taken off hold.",
    "event_type:call.transcription": "Live transcription produced text.",
    "family:sparrow": "AiCoustics Sparrow model family.",
    "family:quail": "AiCoustics Quail model family.",
    "format:wav": "WAV file.",
    "format:mp3": "MP3 file.",
    "gender:Male": "Male voice.",
    "gender:Female": "Female voice.",
    "hangup_cause:call_rejected": "The call was rejected.",
    "hangup_cause:normal_clearing": "The call ended normally by a party hanging up.",
    "hangup_cause:originator_cancel": "The caller hung up before the call was answered.",
    "hangup_cause:timeout": "Nobody answered before the ring timeout.",
    "hangup_cause:time_limit": "The call reached its maximum allowed length.",
    "hangup_cause:user_busy": "The called party was busy.",
    "hangup_cause:not_found": "The destination does not exist.",
    "hangup_cause:no_answer": "The destination did not answer.",
    "hangup_cause:unspecified": "No specific cause was given.",
    "hangup_source:caller": "The calling party hung up.",
    "hangup_source:callee": "The called party hung up.",
    "hangup_source:unknown": "It is not known who hung up.",
    "include_metadata_custom_headers:true": "Include the call's custom SIP headers in the SIPREC metadata.",
    "include_metadata_custom_headers:false": "Leave custom SIP headers out of the SIPREC metadata.",
    "include_metadata_custom_headers:True": "Include the call's custom SIP headers in the SIPREC metadata.",
    "include_metadata_custom_headers:False": "Leave custom SIP headers out of the SIPREC metadata.",
    "interruptible:none": "Nothing interrupts the output.",
    "interruptible:any": "Speech or keypad input interrupts the output.",
    "interruptible:speech": "Only speech interrupts the output.",
    "interruptible:dtmf": "Only keypad input interrupts the output.",
    "interruptible_greeting:none": "Nothing interrupts the greeting.",
    "interruptible_greeting:any": "Speech or keypad input interrupts the greeting.",
    "interruptible_greeting:speech": "Only speech interrupts the greeting.",
    "interruptible_greeting:dtmf": "Only keypad input interrupts the greeting.",
    "language:en": "English.",
    "language:ba": "Bashkir.",
    "language:eu": "Basque.",
    "language:gl": "Galician.",
    "language:ga": "Irish.",
    "language:mt": "Maltese.",
    "language:mn": "Mongolian.",
    "language:sw": "Swahili.",
    "language:ug": "Uyghur.",
    "language:cy": "Welsh.",
    "language:ar_en": "Arabic and English, mixed.",
    "language:cmn_en": "Mandarin and English, mixed.",
    "language:en_ms": "English and Malay, mixed.",
    "language:en_ta": "English and Tamil, mixed.",
    "language:tl": "Tagalog.",
    "language:es-bilingual-en": "Spanish and English, mixed.",
    "language:cmn_en_ms_ta": "Mandarin, English, Malay and Tamil, mixed.",
    "language:ar": "Arabic.",
    "language:codeswitch": "Arabic and English with switching between them.",
    "language:auto": "Detect the language automatically.",
    "language:nl": "Dutch.",
    "language:fr": "French.",
    "language:fy": "Frisian.",
    "language:de": "German.",
    "language:it": "Italian.",
    "language:pl": "Polish.",
    "language:pt": "Portuguese.",
    "language:es": "Spanish.",
    "language:sv": "Swedish.",
    "language:en-US": "English (United States).",
    "language:en-AU": "English (Australia).",
    "language:en-GB": "English (United Kingdom).",
    "language:en-IN": "English (India).",
    "language:en-NZ": "English (New Zealand).",
    "language:sv-SE": "Swedish (Sweden).",
    "language:da-DK": "Danish (Denmark).",
    "language:es-419": "Spanish (Latin America).",
    "language:fr-CA": "French (Canada).",
    "language:pt-BR": "Portuguese (Brazil).",
    "language:pt-PT": "Portuguese (Portugal).",
    "language:auto_detect": "Detect the language automatically.",
    "media_encryption:disabled": "Unencrypted RTP media.",
    "media_encryption:SRTP": "Media encrypted with SRTP using keys exchanged in SDP.",
    "media_encryption:DTLS": "Media encrypted with SRTP using keys negotiated over DTLS.",
    "method:GET": "HTTP GET.",
    "method:POST": "HTTP POST.",
    "method:PUT": "HTTP PUT.",
    "method:DELETE": "HTTP DELETE.",
    "method:PATCH": "HTTP PATCH.",
    "mode:standard": "Standard processing.",
    "mode:advanced": "More thorough processing at higher cost.",
    "model:latest_long": "Google model for long audio such as conversations.",
    "model:latest_short": "Google model for short utterances and commands.",
    "model:command_and_search": "Google model for short voice commands and searches.",
    "model:phone_call": "Google model tuned for phone audio.",
    "model:video": "Google model tuned for video soundtracks.",
    "model:default": "Google's general-purpose model.",
    "model:medical_conversation": "Google model for doctor-patient conversations.",
    "model:medical_dictation": "Google model for medical dictation.",
    "model:deepgram/flux": "Deepgram Flux, built for conversational turn-taking.",
    "model:flux": "Short name for Deepgram Flux.",
    "model:deepgram/nova-3": "Deepgram Nova-3.",
    "model:deepgram/nova-2": "Deepgram Nova-2.",
    "model:speechmatics/standard": "Speechmatics standard.",
    "model:speechmatics/enhanced": "Speechmatics enhanced, more accurate.",
    "model:assemblyai/universal-streaming": "AssemblyAI Universal streaming.",
    "model:xai/grok-stt": "xAI Grok speech-to-text.",
    "model:soniox/stt-rt-v4": "Soniox real-time v4.",
    "model:nvidia/parakeet-v3": "NVIDIA Parakeet v3.",
    "model:humain/realtime": "Humain real-time.",
    "model:reson8/turns": "Reson8 turn-based.",
    "model:azure/fast": "Azure fast transcription.",
    "model:azure/realtime": "Azure real-time transcription.",
    "model:google/latest_long": "Google latest_long.",
    "model:distil-whisper/distil-large-v2": "Distil-Whisper large v2.",
    "model:openai/whisper-large-v3-turbo": "OpenAI Whisper large v3 turbo.",
    "model:krisp-viva-tel-v2.kef": "Krisp VIVA telephony model, version 2.",
    "model:krisp-viva-tel-lite-v1.kef": "Krisp VIVA telephony lite model.",
    "model:krisp-viva-pro-v1.kef": "Krisp VIVA pro model.",
    "model:krisp-viva-ss-v1.kef": "Krisp VIVA speech-separation model.",
    "mute_dtmf:none": "Everyone hears DTMF tones.",
    "mute_dtmf:both": "Neither leg hears DTMF tones.",
    "mute_dtmf:self": "This leg does not hear DTMF tones.",
    "mute_dtmf:opposite": "The other leg does not hear DTMF tones.",
    "name:User-to-User": "The User-to-User SIP header, carrying data between the call's endpoints.",
    "name:Diversion": "The Diversion SIP header, telling where the call was forwarded from.",
    "noise_suppression_engine:Denoiser": "Telnyx's standard denoiser.",
    "noise_suppression_engine:DeepFilterNet": "DeepFilterNet neural noise suppression.",
    "noise_suppression_engine:Krisp": "Krisp noise suppression.",
    "noise_suppression_engine:AiCoustics": "AiCoustics speech enhancement.",
    "noise_suppression_engine:aic_l_quail": "AiCoustics Quail model, large size.",
    "noise_suppression_engine:aic_l_rook": "AiCoustics Rook model, large size.",
    "noise_suppression_engine:aic_s_quail": "AiCoustics Quail model, small size.",
    "noise_suppression_engine:aic_s_rook": "AiCoustics Rook model, small size.",
    "noise_suppression_engine:quail_voice_focus_s": "AiCoustics Quail voice-focus model, small size.",
    "noise_suppression_engine:quail_voice_focus_xs": "AiCoustics Quail voice-focus model, extra-small size.",
    "on_hangup:continue_conversation": "The conversation goes on without this participant.",
    "on_hangup:end_conversation": "The conversation ends when this participant hangs up.",
    "payload_type:text": "The payload is plain text.",
    "payload_type:ssml": "The payload is SSML markup.",
    "payment_card_type:visa": "Visa.",
    "payment_card_type:mastercard": "Mastercard.",
    "payment_card_type:amex": "American Express.",
    "payment_card_type:optima": "American Express Optima.",
    "payment_card_type:discover": "Discover.",
    "payment_card_type:diners-club": "Diners Club.",
    "payment_card_type:jcb": "JCB.",
    "payment_card_type:maestro": "Maestro.",
    "payment_card_type:enroute": "enRoute.",
    "payment_method:credit-card": "Pay by credit or debit card.",
    "payment_method:ach-debit": "Pay by ACH bank debit.",
    "payment_status:completed": "The payment went through.",
    "payment_status:failed": "The payment failed.",
    "payment_status:processing": "The payment is being processed.",
    "payment_step:payment-card-number": "Collecting the card number.",
    "payment_step:expiration-date": "Collecting the expiry date.",
    "payment_step:postal-code": "Collecting the postal code.",
    "payment_step:security-code": "Collecting the security code.",
    "payment_step:bank-routing-number": "Collecting the bank routing number.",
    "payment_step:bank-account-number": "Collecting the bank account number.",
    "payment_step:payment-processing": "All details collected; the payment is being processed.",
    "precision:PCM_16": "16-bit linear PCM.",
    "precision:PCM_24": "24-bit linear PCM.",
    "precision:PCM_32": "32-bit linear PCM.",
    "precision:MULAW": "8-bit mu-law.",
    "preferred_codecs:G722,PCMU,PCMA,G729,OPUS,VP8,H264": (
        "Offer G.722, G.711 mu-law and A-law, G.729, Opus, VP8 and H.264, in that order."
    ),
    "privacy:id": "Hide the caller's identity from the callee.",
    "privacy:none": "Show the caller's identity.",
    "product:call_control": "Call Control calls.",
    "product:fax": "Fax calls.",
    "product:texml": "TeXML calls.",
    "reason:bridged": "The call was bridged to an agent.",
    "reason:bridging-in-process": "The call is being bridged.",
    "reason:hangup": "The caller hung up while waiting.",
    "reason:leave": "The call was taken out of the queue by a command.",
    "reason:timeout": "The call waited longer than allowed.",
    "reason:Failed to authorize with storage using custom credentials": (
        "Your storage rejected the custom credentials."
    ),
    "reason:Invalid credentials json": "The custom storage credentials are malformed.",
    "reason:Unsupported backend": "The storage type is not supported.",
    "reason:Internal server error": "An internal error at Telnyx.",
    "record:record-from-answer": "Record from the moment the call is answered.",
    "record_channels:single": "Both parties mixed into one channel.",
    "record_channels:dual": "Each party on its own channel.",
    "record_format:wav": "Save the recording as WAV.",
    "record_format:mp3": "Save the recording as MP3.",
    "record_track:both": "Record audio in both directions.",
    "record_track:inbound": "Record only audio received from the caller.",
    "record_track:outbound": "Record only audio sent to the caller.",
    "record_trim:trim-silence": "Cut silence at the start and end.",
    "record_type:call_control_application": "A call control application.",
    "record_type:call_event": "A logged call event.",
    "record_type:call": "A call leg.",
    "record_type:event": "A webhook event.",
    "recording_track:both": "Record audio in both directions.",
    "recording_track:inbound": "Record only audio received from the caller.",
    "recording_track:outbound": "Record only audio sent to the caller.",
    "region:australiaeast": "Azure Australia East.",
    "region:centralindia": "Azure Central India.",
    "region:eastus": "Azure East US.",
    "region:northcentralus": "Azure North Central US.",
    "region:westeurope": "Azure West Europe.",
    "region:westus2": "Azure West US 2.",
    "result:real": "The voice appears to be a real person.",
    "result:fake": "The voice appears to be synthetic.",
    "result:silence_timeout": "Too little speech was heard to decide.",
    "result:human": "A person answered.",
    "result:machine": "A machine answered.",
    "result:not_sure": "No confident verdict.",
    "result:beep_detected": "The voicemail beep was heard.",
    "result:ended": "The machine greeting ended without a beep being heard.",
    "result:human_residence": "A person answered, apparently at a residence.",
    "result:human_business": "A person answered, apparently at a business.",
    "result:silence": "Nothing but silence was heard.",
    "result:fax_detected": "A fax machine answered.",
    "result:no_beep_detected": "No voicemail beep was heard.",
    "result:success": "The payment succeeded.",
    "result:payment-connector-error": "The payment connector reported an error.",
    "result:internal-error": "An internal error stopped the payment.",
    "result:too-many-failed-attempts": "The caller made too many invalid entries.",
    "result:cancelled": "The payment was cancelled.",
    "role:user": "The caller or end user.",
    "role:assistant": "The AI assistant.",
    "role:tool": "The result of a tool call.",
    "role:system": "A system instruction.",
    "role:developer": "A developer instruction.",
    "role:barge": "Supervisor talks to both parties.",
    "role:whisper": "Supervisor talks to the supervised leg only.",
    "role:monitor": "Supervisor only listens.",
    "sample_rate:8000": "8 kHz.",
    "sample_rate:16000": "16 kHz.",
    "sample_rate:22050": "22.05 kHz.",
    "sample_rate:32000": "32 kHz.",
    "sample_rate:44100": "44.1 kHz.",
    "sample_rate:48000": "48 kHz.",
    "secure:true": "Encrypt the SIPREC session (TLS and SRTP).",
    "secure:false": "Send the SIPREC session unencrypted.",
    "secure:True": "Encrypt the SIPREC session (TLS and SRTP).",
    "secure:False": "Send the SIPREC session unencrypted.",
    "service_level:basic": "Standard quality at lower cost.",
    "service_level:premium": "Higher quality at higher cost.",
    "sip_region:US": "SIP proxy in the United States.",
    "sip_region:Europe": "SIP proxy in Europe.",
    "sip_region:Canada": "SIP proxy in Canada.",
    "sip_region:Australia": "SIP proxy in Australia.",
    "sip_region:Middle East": "SIP proxy in the Middle East.",
    "sip_subdomain_receive_settings:only_my_connections": "Only your own connections may call the subdomain.",
    "sip_subdomain_receive_settings:from_anyone": "Anyone may call the subdomain.",
    "sip_transport:udp": "SIP over UDP.",
    "sip_transport:tcp": "SIP over TCP.",
    "sip_transport:tls": "SIP over TLS.",
    "sip_transport_protocol:UDP": "SIP over UDP.",
    "sip_transport_protocol:TCP": "SIP over TCP.",
    "sip_transport_protocol:TLS": "SIP over TLS.",
    "siprec_track:inbound_track": "Send only the audio received from the caller.",
    "siprec_track:outbound_track": "Send only the audio sent to the caller.",
    "siprec_track:both_tracks": "Send audio in both directions.",
    "size:s": "Small model.",
    "size:l": "Large model.",
    "size:xs": "Extra-small model.",
    "size:xxs": "Smallest model.",
    "size:vf_l": "Large voice-focus model.",
    "size:vf_1_1_l": "Large voice-focus model, version 1.1.",
    "sort:created_at": "Order by creation time.",
    "sort:connection_name": "Order by application name.",
    "sort:active": "Order by whether the application is active.",
    "state:answered": "The call has been answered.",
    "state:hangup": "The call has ended.",
    "state:parked": "The call is waiting for a command.",
    "state:bridging": "The call is being connected to another leg.",
    "status:init": "Not processed yet.",
    "status:in_progress": "Being processed.",
    "status:completed": "Finished successfully.",
    "status:valid": "The input met the requirements.",
    "status:invalid": "The input did not meet the requirements.",
    "status:success": "Succeeded.",
    "status:error": "Failed with an error.",
    "status:call_hangup": "Stopped because the call hung up.",
    "status:cancelled": "Stopped by a command.",
    "status:cancelled_amd": "Stopped because answering machine detection finished.",
    "status:timeout": "Stopped because time ran out.",
    "status:file_not_found": "The audio file could not be fetched.",
    "status:unknown": "Ended for an unknown reason.",
    "status:failed": "Failed.",
    "stream_bidirectional_codec:PCMU": "G.711 mu-law.",
    "stream_bidirectional_codec:PCMA": "G.711 A-law.",
    "stream_bidirectional_codec:G722": "G.722 wideband.",
    "stream_bidirectional_codec:OPUS": "Opus.",
    "stream_bidirectional_codec:AMR-WB": "AMR wideband.",
    "stream_bidirectional_codec:L16": "16-bit linear PCM.",
    "stream_bidirectional_mode:mp3": "Send back audio as MP3 clips.",
    "stream_bidirectional_mode:rtp": "Send back audio as raw RTP payloads.",
    "stream_bidirectional_sampling_rate:8000": "8 kHz.",
    "stream_bidirectional_sampling_rate:16000": "16 kHz.",
    "stream_bidirectional_sampling_rate:22050": "22.05 kHz.",
    "stream_bidirectional_sampling_rate:24000": "24 kHz.",
    "stream_bidirectional_sampling_rate:48000": "48 kHz.",
    "stream_bidirectional_target_legs:both": "Both legs hear the returned audio.",
    "stream_bidirectional_target_legs:self": "Only this leg hears the returned audio.",
    "stream_bidirectional_target_legs:opposite": "Only the other leg hears the returned audio.",
    "stream_codec:PCMU": "G.711 mu-law.",
    "stream_codec:PCMA": "G.711 A-law.",
    "stream_codec:G722": "G.722 wideband.",
    "stream_codec:OPUS": "Opus.",
    "stream_codec:AMR-WB": "AMR wideband.",
    "stream_codec:L16": "16-bit linear PCM.",
    "stream_codec:default": "Use the codec the call already uses.",
    "stream_track:inbound_track": "Stream only audio received from the caller.",
    "stream_track:outbound_track": "Stream only audio sent to the caller.",
    "stream_track:both_tracks": "Stream audio in both directions.",
    "stream_type:decrypted": "Decrypted RTP media.",
    "stream_type:raw": "Media as received, without decryption.",
    "stream_type:websocket": "A WebSocket media stream.",
    "stream_type:dialogflow": "A stream to Dialogflow.",
    "supervisor_role:barge": "Talk to and hear both parties.",
    "supervisor_role:monitor": "Listen only.",
    "supervisor_role:none": "No supervisor role.",
    "supervisor_role:whisper": "Talk to the supervised leg only, unheard by the other party.",
    "target_legs:self": "This leg only.",
    "target_legs:opposite": "The other leg of the bridge only.",
    "target_legs:both": "Both legs.",
    "track:inbound_track": "Audio received from the caller.",
    "track:outbound_track": "Audio sent to the caller.",
    "track:both_tracks": "Audio in both directions.",
    "transaction_type:charge": "Charge the amount now.",
    "transaction_type:tokenize": "Only store the details and return a token.",
    "transcription_engine:Google": "Google speech recognition.",
    "transcription_engine:Telnyx": "Telnyx-hosted Whisper recognition.",
    "transcription_engine:Deepgram": "Deepgram recognition.",
    "transcription_engine:Azure": "Microsoft Azure speech recognition.",
    "transcription_engine:xAI": "xAI speech recognition.",
    "transcription_engine:AssemblyAI": "AssemblyAI streaming recognition.",
    "transcription_engine:Speechmatics": "Speechmatics recognition.",
    "transcription_engine:Soniox": "Soniox recognition.",
    "transcription_engine:A": "Legacy alias for the Google engine.",
    "transcription_engine:B": "Legacy alias for the Telnyx engine.",
    "transcription_engine:Parakeet": "NVIDIA Parakeet recognition.",
    "transcription_engine:Humain": "Humain recognition (Arabic and English).",
    "transcription_engine:Reson8": "Reson8 recognition.",
    "transcription_engine:deepgram/nova-2": "Deepgram Nova-2.",
    "transcription_engine:deepgram/nova-3": "Deepgram Nova-3.",
    "transcription_model:openai/whisper-tiny": "OpenAI Whisper tiny, fastest.",
    "transcription_model:openai/whisper-large-v3-turbo": "OpenAI Whisper large v3 turbo, more accurate.",
    "transcription_model:xai/grok-stt": "xAI Grok speech-to-text.",
    "transcription_model:assemblyai/universal-streaming": "AssemblyAI Universal streaming.",
    "transcription_model:speechmatics/standard": "Speechmatics standard.",
    "transcription_model:soniox/stt-rt-v4": "Soniox real-time v4.",
    "transcription_model:nvidia/parakeet-v3": "NVIDIA Parakeet v3.",
    "transcription_model:humain/realtime": "Humain real-time.",
    "transcription_model:reson8/turns": "Reson8 turn-based.",
    "transcription_model:deepgram/nova-2": "Deepgram Nova-2.",
    "transcription_model:deepgram/nova-3": "Deepgram Nova-3.",
    "transcription_track:inbound": "Speech received from the caller.",
    "transcription_track:outbound": "Speech sent to the caller.",
    "trim:trim-silence": "Cut silence at the start and end.",
    "type:command": "A command sent to Telnyx.",
    "type:webhook": "A webhook sent by Telnyx; for tools, a tool that calls your HTTP endpoint.",
    "type:book_appointment": "Tool that books a meeting.",
    "type:check_availability": "Tool that looks up free meeting slots.",
    "type:object": "A JSON object.",
    "type:hangup": "Tool that ends the call.",
    "type:transfer": "Tool that transfers the call.",
    "type:retrieval": "Tool that searches your documents.",
    "type:predefined_media": "A built-in background sound.",
    "type:media_url": "Audio fetched from a URL.",
    "type:media_name": "Audio stored in Telnyx media storage.",
    "type:elevenlabs": "ElevenLabs voice.",
    "type:telnyx": "Telnyx voice.",
    "type:aws": "Amazon Polly voice.",
    "type:minimax": "MiniMax voice.",
    "type:azure": "Microsoft Azure voice.",
    "type:resemble": "Resemble AI voice.",
    "type:inworld": "Inworld voice.",
    "type:xai": "xAI voice.",
    "type:function": "A function call.",
    "valid_card_types:visa": "Accept Visa.",
    "valid_card_types:mastercard": "Accept Mastercard.",
    "valid_card_types:amex": "Accept American Express.",
    "valid_card_types:maestro": "Accept Maestro.",
    "valid_card_types:discover": "Accept Discover.",
    "valid_card_types:optima": "Accept American Express Optima.",
    "valid_card_types:jcb": "Accept JCB.",
    "valid_card_types:diners-club": "Accept Diners Club.",
    "valid_card_types:enroute": "Accept enRoute.",
    "value:silence": "No background sound.",
    "value:office": "Office ambience.",
    "webhook_api_version:1": "Version 1 webhook format.",
    "webhook_api_version:2": "Version 2 webhook format.",
    "webhook_url_method:POST": "Deliver webhooks with POST.",
    "webhook_url_method:GET": "Deliver webhooks with GET.",
    "webhook_urls_method:POST": "Deliver webhooks with POST.",
    "webhook_urls_method:GET": "Deliver webhooks with GET.",
    "welcome_greeting_interruptible:none": "Nothing interrupts the welcome greeting.",
    "welcome_greeting_interruptible:any": "Speech or keypad input interrupts the welcome greeting.",
    "welcome_greeting_interruptible:speech": "Only speech interrupts the welcome greeting.",
    "welcome_greeting_interruptible:dtmf": "Only keypad input interrupts the welcome greeting.",
}
