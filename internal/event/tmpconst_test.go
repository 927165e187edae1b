package event
const MaxReasons = 1<<30
const MaxIdentityLen = 1<<30
