package event

import "time"

// gwsAdminEvent is the gwsEventFunc of admin activities (the Admin console
// audit log: CREATE_USER, GRANT_ADMIN_PRIVILEGE, CHANGE_APPLICATION_SETTING,
// ...), kind activity. The user is the actor, the administrator who made
// the change: never a parameter such as USER_EMAIL, which names the user
// changed. A system actor (callerType KEY) has no email and gives no user.
// The admin log records the changes that were made (it has no failure
// events): the outcome is success. It carries no risk signal: the risk is
// unknown. Reasons are the event name and type; the time is id.time.
func gwsAdminEvent(e *Event, d *fields, ev map[string]any, name string, activityTime func() time.Time) *Error {
	e.Outcome, e.Risk = OutcomeSuccess, RiskUnknown
	var rs reasonSet
	rs.add(name)
	rs.add(text(ev["type"]))
	rs.into(e)
	e.Time = activityTime()
	return finish(e, d, d.m)
}
